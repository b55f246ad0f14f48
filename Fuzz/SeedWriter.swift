// Writes a fuzz target's seeds (`fuzzSeeds`, defined by Fuzz/<Target>Seeds.swift from the test
// fixtures) as libFuzzer seed files: `seed-writer DIR`. Built by scripts/fuzz.sh.
#if canImport(Glibc)
    import Glibc
#endif

@main
struct SeedWriter {
    static func main() {
        guard CommandLine.arguments.count == 2 else { return }
        let directory = CommandLine.arguments[1]
        for (i, seed) in fuzzSeeds.enumerated() {
            let path = "\(directory)/seed-\(i)"
            guard let file = fopen(path, "wb") else { continue }
            _ = seed.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, file) }
            fclose(file)
        }
    }
}
