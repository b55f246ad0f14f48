// Seeds of the admin JSON fuzzer: AdminBodyInvariants.swift's seeds.
let fuzzSeeds: [[UInt8]] = adminBodySeeds.map { Array($0.utf8) }
