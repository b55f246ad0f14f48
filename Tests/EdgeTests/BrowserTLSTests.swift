import Foundation
import Testing

@testable import Edge

/// Headless Chromium over the HTTPS listener, trusting the test CA through an NSS database made
/// with `certutil` (as a developer trusts `<store>/tls/ca.pem`). Browsers offer `br` only to
/// secure origins: the page's JS and CSS must arrive brotli-encoded, read from Chromium's own
/// network log.
@Suite(.serialized) struct BrowserTLSTests {
    /// Loads `url` in headless Chromium with HOME=`home`; returns the DOM and "url encoding" per response.
    static func load(_ url: String, home: String) throws -> (dom: String, encodings: [String: String]) {
        let netLog = home + "/net.json"
        let r = try Command.run(
            [
                "HOME=\(home)", "chromium", "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update", "--no-first-run",
                "--log-net-log=\(netLog)", "--dump-dom", url,
            ], timeoutSeconds: 60)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Support/netlog-encodings.py").path
        var encodings: [String: String] = [:]
        if FileManager.default.fileExists(atPath: netLog) {
            let parsed = try Command.run(["python3", script, netLog])
            for line in parsed.stdout.split(separator: "\n") {
                let parts = line.split(separator: " ")
                if parts.count == 2 { encodings[String(parts[0])] = String(parts[1]) }
            }
        }
        return (r.stdout, encodings)
    }

    @Test func headlessChromiumTrustingTheCALoadsThePageWithBrotliJSAndCSS() throws {
        let h = try EdgeHarness(tls: true)
        defer { h.stop() }
        let url = "https://localhost:\(h.tlsPort)/"
        // Without the CA: the certificate is refused, no page.
        let untrusted = h.root.appendingPathComponent("home-untrusted").path
        try FileManager.default.createDirectory(atPath: untrusted, withIntermediateDirectories: true)
        #expect(try !BrowserTLSTests.load(url, home: untrusted).dom.contains("<h1>Fixture</h1>"))
        // With the CA imported into the NSS database Chromium reads.
        let home = h.root.appendingPathComponent("home").path
        let db = "sql:\(home)/.pki/nssdb"
        try FileManager.default.createDirectory(atPath: home + "/.pki/nssdb", withIntermediateDirectories: true)
        #expect(try Command.run(["certutil", "-d", db, "-N", "--empty-password"]).status == 0)
        let added = try Command.run(["certutil", "-d", db, "-A", "-t", "C,,", "-n", "wharf-test", "-i", h.caFile!])
        #expect(added.status == 0, "\(added.stderr)")
        let (dom, encodings) = try BrowserTLSTests.load(url, home: home)
        #expect(dom.contains("<h1>Fixture</h1>"))
        #expect(encodings[url + "assets/app.1a2b3c4d.js"] == "br", "\(encodings)")
        #expect(encodings[url + "assets/style.5e6f7a8b.css"] == "br", "\(encodings)")
    }
}
