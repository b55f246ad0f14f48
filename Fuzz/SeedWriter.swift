// Writes the request fixtures (Tests/HTTPCoreTests/Fixtures) as libFuzzer seed files:
// `seed-writer DIR`. Built by scripts/fuzz.sh with the HTTPCore sources and the fixture table.
#if canImport(Glibc)
import Glibc
#endif

@main
struct SeedWriter {
    static func main() {
        guard CommandLine.arguments.count == 2 else { return }
        let directory = CommandLine.arguments[1]
        for (i, fixture) in requestFixtures.enumerated() {
            let path = "\(directory)/fixture-\(i).http"
            guard let file = fopen(path, "wb") else { continue }
            _ = fixture.bytes.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, file) }
            fclose(file)
        }
    }
}
