// Seeds of the request-parser fuzzer: the request fixtures of HTTPCoreTests.
let fuzzSeeds: [[UInt8]] = requestFixtures.map(\.bytes)
