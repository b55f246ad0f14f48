import Foundation
import Testing

/// RFC 9842 in a real browser: `scripts/dictionary-chromium.py` drives headless Chromium
/// (Debian `chromium` + `chromium-driver`, Selenium; installed by `make test`) against the real
/// `wharf edge`, across a publish of a new demo version with a one-line change in its JS and CSS.
@Suite struct DictionaryBrowserTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    @Test func chromiumOffersTheOldBundleAsADictionaryAndGetsDczDeltasThatRunAfterARedeploy() throws {
        let scratch = ScratchDirectory("wharf-chromium-test")
        let output = scratch.path + "/result.json"
        let process = Process()
        // `python3` from PATH: the interpreter `make deps` installed Selenium for.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", Self.repository.appendingPathComponent("scripts/dictionary-chromium.py").path,
            WharfProcess.binary, Self.repository.appendingPathComponent("demo/site").path, "--json", output,
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let log = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(log)")
        let result = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output))) as? [String: Any])
        for asset in ["js", "css"] {
            let record = try #require(result[asset] as? [String: Any], "\(log)")
            #expect(record["content_encoding"] as? String == "dcz")
            #expect((record["available_dictionary"] as? String)?.hasPrefix(":") == true)
            let delta = try #require(record["content_length"] as? Int)
            let br = try #require(result["\(asset)_br_bytes"] as? Int)
            #expect(delta * 10 <= br, "\(asset): dcz \(delta) vs br \(br)")
        }
        #expect((result["console_errors"] as? [Any])?.isEmpty == true)
        #expect((result["rendered_rows"] as? Int ?? 0) > 0)
    }
}
