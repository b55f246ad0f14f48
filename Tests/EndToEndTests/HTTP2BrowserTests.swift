import Foundation
import Testing

/// HTTP/2 and 103 Early Hints in a real browser: `scripts/h2-chromium.py` serves the demo the way
/// `make run` does (TLS with the generated development CA) and loads it in headless Chromium
/// trusting that CA; Chromium's own Resource Timing entries must show `h2` for the page and every
/// resource, and preloads fetched on the 103's Link fields (`initiatorType` `early-hints`), which
/// Chromium acts on only over HTTP/2.
@Suite struct HTTP2BrowserTests {
    @Test func chromiumLoadsTheDemoOverH2AndActsOnEarlyHints() throws {
        let scratch = ScratchDirectory("wharf-h2-chromium-test")
        let output = scratch.path + "/result.json"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", DictionaryBrowserTests.repository.appendingPathComponent("scripts/h2-chromium.py").path,
            WharfProcess.binary, DictionaryBrowserTests.repository.appendingPathComponent("demo/site").path,
            "--json", output,
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let log = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(log)")
        let result = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output))) as? [String: Any])
        let entries = try #require(result["entries"] as? [[String: Any]], "\(log)")
        #expect(entries.count >= 4, "\(log)")
        #expect(entries.allSatisfy { $0["protocol"] as? String == "h2" }, "\(log)")
        let early = (result["early_hints"] as? [String]) ?? []
        #expect(early.contains { $0.contains("/assets/style.") }, "\(log)")
    }
}
