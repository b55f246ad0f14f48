// Seeds of the field-parser fuzzer: HeaderInvariants.swift's seeds.
let fuzzSeeds: [[UInt8]] = headerSeeds.map { Array($0.utf8) }
