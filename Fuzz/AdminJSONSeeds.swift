// Seeds of the admin JSON fuzzer: AdminBodyInvariants.swift's seeds.
let fuzzSeeds: [[UInt8]] = (adminBodySeeds + jobSubmissionBodySeeds).map { Array($0.utf8) }
