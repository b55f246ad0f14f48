import Foundation
import Testing

/// Downloads with the real binary: `scripts/downloads-chromium.py` registers an app with a
/// `--download` glob, publishes an APK and a text file, serves them with `wharf edge`, and checks
/// in headless Chromium that `/_downloads` lists both with their SHA-256, that both download as
/// attachments (landing under their own names with the right bytes; the text file is not shown
/// in the tab), and that `curl -C -` resumes an APK cut at 1,000,000 bytes to the exact bytes.
@Suite struct DownloadsBrowserTests {
    @Test func chromiumDownloadsAnAPKAsAnAttachmentAndCurlResumesIt() throws {
        let scratch = ScratchDirectory("wharf-downloads-chromium-test")
        let output = scratch.path + "/result.json"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", DictionaryBrowserTests.repository.appendingPathComponent("scripts/downloads-chromium.py").path,
            WharfProcess.binary, "--json", output,
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let log = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(log)")
        let result = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output))) as? [String: Any])
        #expect((result["failures"] as? [String]) == [], "\(log)")
        #expect((result["listed"] as? [String])?.sorted() == ["releases/app-release.apk", "releases/notes.txt"], "\(log)")
        #expect(result["apk_downloaded"] as? Bool == true, "\(log)")
        #expect(result["notes_downloaded"] as? Bool == true, "\(log)")
        #expect((result["curl"] as? String)?.hasPrefix("206 ") == true, "\(log)")
    }
}
