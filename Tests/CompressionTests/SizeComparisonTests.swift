import Compression
import Foundation
import Testing

/// Compares our default output sizes with the CLIs' on real files. Off by default (it takes a while):
/// `WHARF_COMPRESSION_CORPUS="a.js b.css" swift test --filter SizeComparisonTests`
@Suite("Size comparison with the CLIs", .enabled(if: ProcessInfo.processInfo.environment["WHARF_COMPRESSION_CORPUS"] != nil))
struct SizeComparisonTests {
    @Test("our defaults stay within 3% (br, zstd) and 1% (gzip) of the CLIs on the corpus files")
    func corpus() throws {
        let paths = (ProcessInfo.processInfo.environment["WHARF_COMPRESSION_CORPUS"] ?? "")
            .split(separator: " ").map(String.init)
        let cli = try CommandLineTool()
        defer { cli.cleanUp() }
        var report = "file | bytes | br ours/cli (our ms) | zstd ours/cli (our ms) | gzip ours/cli (our ms)\n"
        for path in paths {
            let input = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            var row = "\(URL(fileURLWithPath: path).lastPathComponent) | \(input.count)"
            for tool in CommandLineInteropTests.tools {
                let start = ContinuousClock.now
                let ours = try tool.codec.encode(input).count
                let elapsed = ContinuousClock.now - start
                let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
                let theirs = try cli.run(tool.compareWith, input: input).count
                let ratio = Double(ours) / Double(theirs)
                row += " | \(ours)/\(theirs) (\(String(format: "%+.2f%%, %.0f ms", (ratio - 1) * 100, milliseconds)))"
                #expect(ratio <= 1 + tool.sizeTolerance, "\(tool) \(path): ours \(ours), CLI \(theirs)")
            }
            report += row + "\n"
        }
        print(report)
    }
}
