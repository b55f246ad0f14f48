import Foundation
import Glibc
import Testing
import WharfTestSupport

/// `wharf edge` with TLS on and no certificate configured, as `make run` starts it: development
/// certificates are created under the store, the https URL it prints works for curl and headless
/// Chromium trusting the generated CA, SIGHUP reloads the certificates, and check-config names a
/// bad certificate's file and reason.
@Suite struct ServeTLSTests {
    @Test func developmentCertificatesServeHTTPSToCurlAndChromium() throws {
        let scratch = ScratchDirectory("wharf-serve-tls")
        let store = scratch.path + "/store"
        #expect(try WharfProcess.run(["publish", "demo", ServeDemoTests.demoSite, "--store", store]).status == 0)
        let daemon = try WharfDaemon(
            ["edge", "--store", store, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--workers", "1"],
            stderrPath: scratch.path + "/edge.log",
            environment: ["WHARF_EDGE_TLS_ENABLED": "true", "WHARF_EDGE_TLS_LISTEN": "127.0.0.1:0"])
        guard eventually(20, { daemon.stderr.contains("admin API on") }),
            let port = SchedulerAPITests.port(after: "edge listening on https://localhost:", in: daemon.stderr)
        else {
            Issue.record("no https listener:\n\(daemon.stderr)")
            return
        }
        #expect(daemon.stderr.contains("created a local development CA"))
        let ca = store + "/tls/ca.pem"
        for key in ["ca-key.pem", "localhost-key.pem"] {
            let mode = try FileManager.default.attributesOfItem(atPath: store + "/tls/" + key)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(key)")
        }
        let url = "https://localhost:\(port)/"
        let index = try ServeDemoTests.curl(["--cacert", ca, url])
        #expect(index.status == 0)
        #expect(index.out.contains("Harbor board"))
        #expect(try ServeDemoTests.curl(["--cacert", ca, "-o", "/dev/null", "-w", "%{http_code}", "https://127.0.0.1:\(port)/"]).out == "200")

        // Headless Chromium with the CA imported into its NSS database (HOME/.pki/nssdb).
        let home = scratch.path + "/home"
        try FileManager.default.createDirectory(atPath: home + "/.pki/nssdb", withIntermediateDirectories: true)
        #expect(try Self.tool(["certutil", "-d", "sql:\(home)/.pki/nssdb", "-N", "--empty-password"], scratch: scratch).status == 0)
        #expect(
            try Self.tool(["certutil", "-d", "sql:\(home)/.pki/nssdb", "-A", "-t", "C,,", "-n", "wharf-dev", "-i", ca], scratch: scratch).status == 0)
        let netLog = scratch.path + "/net.json"
        let dom = try Self.tool(
            [
                "HOME=\(home)", "timeout", "60", "chromium", "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--no-first-run", "--log-net-log=\(netLog)",
                "--dump-dom", url,
            ], scratch: scratch)
        #expect(dom.stdout.contains("Harbor board"))
        // What Chromium received: the page's JS and CSS brotli-encoded (br is offered to secure origins only).
        let parser = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Support/netlog-encodings.py").path
        let received = try Self.tool(["python3", parser, netLog], scratch: scratch).stdout.split(separator: "\n")
        let assets = received.filter { $0.contains("/assets/") && ($0.contains(".js ") || $0.contains(".css ")) }
        #expect(assets.count >= 2, "\(received)")
        #expect(assets.allSatisfy { $0.hasSuffix(" br") }, "\(assets)")

        // SIGHUP reloads the certificates (here the same files) and keeps serving.
        kill(daemon.process.processIdentifier, SIGHUP)
        #expect(eventually(10) { daemon.stderr.contains("TLS certificates reloaded") })
        #expect(try ServeDemoTests.curl(["--cacert", ca, "-o", "/dev/null", "-w", "%{http_code}", url]).out == "200")
        #expect(daemon.stop() == 0)
        // The second start reuses the certificates.
        let again = try WharfProcess.run(["check-config", "--store", store], environment: ["WHARF_EDGE_TLS_ENABLED": "true"])
        #expect(again.status == 0)
    }

    /// Runs a tool through env (stdout captured; stderr to a file, so a chatty browser never fills a pipe).
    static func tool(_ arguments: [String], scratch: ScratchDirectory) throws -> (status: Int32, stdout: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        let log = scratch.path + "/tool-stderr.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func checkConfigNamesTheCertificateFileAndTheReason() throws {
        let scratch = ScratchDirectory("wharf-tls-check")
        let store = scratch.path + "/s"
        let missing = try WharfProcess.run(
            ["check-config", "--store", store],
            environment: ["WHARF_EDGE_TLS_CERTIFICATES": "\(scratch.path)/none.pem=\(scratch.path)/none-key.pem"])
        #expect(missing.status != 0)
        #expect(
            missing.stderr.contains("edge.tls.certificates[0]: \(scratch.path)/none.pem: cannot read the certificate (No such file or directory)"))
        let notPEM = try scratch.write("junk.pem", "not a certificate\n")
        let junk = try WharfProcess.run(["check-config", "--store", store], environment: ["WHARF_EDGE_TLS_CERTIFICATES": "\(notPEM)=\(notPEM)"])
        #expect(junk.stderr.contains("\(notPEM): not a usable PEM certificate chain"), "\(junk.stderr)")
        let malformed = try WharfProcess.run(["check-config", "--store", store], environment: ["WHARF_EDGE_TLS_CERTIFICATES": "only-one-file.pem"])
        #expect(malformed.stderr.contains("edge.tls.certificates: entry 'only-one-file.pem' is not CHAIN.pem=KEY.pem[=OCSP.der]"))
        let open = try WharfProcess.run(["check-config", "--store", store, "--admin-listen", "0.0.0.0:9000"])
        #expect(open.status != 0)
        #expect(open.stderr.contains("edge.admin_tls"))
    }
}
