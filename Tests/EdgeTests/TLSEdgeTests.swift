import Foundation
import Glibc
import Synchronization
import TLS
import Testing

@testable import Edge

/// The HTTPS listener seen by real clients: curl, `openssl s_client` and Python's `ssl`, each
/// trusting only the harness's test CA. (The HTTP semantics cases run through this listener
/// too: see `EdgeServerTests`, parameterised over both listeners.)
@Suite(.serialized) struct TLSEdgeTests {
    static let shared: EdgeHarness = try! EdgeHarness(
        tls: true, certificateNames: [["localhost", "127.0.0.1", "::1"], ["app.example.test"], ["*.apps.example.test"]])
    var h: EdgeHarness { TLSEdgeTests.shared }

    @Test func curlFetchesOverHTTPSAndTheBodyHashMatches() throws {
        let path = "/assets/app.1a2b3c4d.js"
        let file = h.root.appendingPathComponent("curl-body").path
        let r = try Command.run([
            "curl", "-sS", "--http1.1", "--cacert", h.caFile!, "-H", "Accept-Encoding: identity", "-o", file,
            "-w", "%{http_code} %{http_version} %{ssl_verify_result}",
            "https://localhost:\(h.tlsPort)\(path)",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "200 1.1 0")
        let body = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
        #expect(EdgeHarness.sha256(body) == EdgeHarness.sha256(h.files[path]!))
        // The large file goes through the pread-and-encrypt path; curl checks it against the length.
        let apk = try Command.run([
            "curl", "-sS", "--http1.1", "--cacert", h.caFile!, "-o", file, "-w", "%{http_code}",
            "https://127.0.0.1:\(h.tlsPort)/downloads/app-release.apk",
        ])
        #expect(apk.stdout == "200", "\(apk.stderr)")
        #expect(
            EdgeHarness.sha256(try [UInt8](Data(contentsOf: URL(fileURLWithPath: file))))
                == EdgeHarness.sha256(h.files["/downloads/app-release.apk"]!))
    }

    @Test func pythonSeesTLS13WithALPNHTTP11AndOnlyModernTLS12Suites() throws {
        let script = """
            import socket, ssl, sys, hashlib
            port, ca = int(sys.argv[1]), sys.argv[2]
            def connect(configure, alpn=["http/1.1"]):
                ctx = ssl.create_default_context(cafile=ca)
                ctx.set_alpn_protocols(alpn)
                configure(ctx)
                s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="localhost")
                return s
            s = connect(lambda c: None)
            s.sendall(b"GET /robots.txt HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk: break
                data += chunk
            print(s.version(), s.selected_alpn_protocol(), hashlib.sha256(data.split(b"\\r\\n\\r\\n", 1)[1]).hexdigest())
            print(connect(lambda c: None, ["h2", "http/1.1"]).selected_alpn_protocol())  # the server prefers h2
            def tls12(ciphers):
                def configure(c):
                    c.maximum_version = ssl.TLSVersion.TLSv1_2
                    c.set_ciphers(ciphers)
                try:
                    s = connect(configure)
                    return s.cipher()[0]
                except ssl.SSLError as e:
                    # The server's alert, not a client-side refusal to offer the suites.
                    return "refused" if "ALERT_HANDSHAKE_FAILURE" in str(e) else "client error: " + str(e)
            print(tls12("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305"))
            print(tls12("ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384"))  # CBC
            print(tls12("AES128-GCM-SHA256:AES256-GCM-SHA384"))  # RSA key exchange
            """
        let r = try Command.run(["python3", "-c", script, "\(h.tlsPort)", h.caFile!])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "TLSv1.3 http/1.1 \(EdgeHarness.sha256(h.files["/robots.txt"]!))")
        #expect(lines.dropFirst().first == "h2")
        #expect(lines.dropFirst(2).first == "ECDHE-ECDSA-AES128-GCM-SHA256")
        #expect(Array(lines.dropFirst(3)) == ["refused", "refused"])
    }

    @Test func sniChoosesTheCertificateTheClientSees() throws {
        func subject(_ serverName: String?) throws -> String {
            var args = ["openssl", "s_client", "-connect", "127.0.0.1:\(h.tlsPort)", "-CAfile", h.caFile!, "-verify_return_error"]
            if let serverName { args += ["-servername", serverName] } else { args += ["-noservername"] }
            let r = try Command.run(args, stdin: "")
            return r.stdout.split(separator: "\n").first { $0.hasPrefix("subject=") }.map(String.init) ?? "none: \(r.stderr)"
        }
        #expect(try subject("app.example.test") == "subject=CN = app.example.test")
        #expect(try subject("shop.apps.example.test") == "subject=CN = *.apps.example.test")
        #expect(try subject("localhost") == "subject=CN = localhost")
        #expect(try subject("unknown.example.test").hasPrefix("none"))  // strict by default: refused
        #expect(try subject(nil) == "subject=CN = localhost")
    }

    @Test func tls10And11AreRefusedWithAProtocolVersionAlert() throws {
        for version in ["-tls1", "-tls1_1"] {
            // SECLEVEL=0 makes the client itself willing, so a refusal can only come from the edge.
            let r = try Command.run(
                [
                    "openssl", "s_client", "-connect", "127.0.0.1:\(h.tlsPort)", version,
                    "-cipher", "DEFAULT:@SECLEVEL=0", "-servername", "localhost",
                ], stdin: "")
            #expect(r.status != 0)
            #expect(r.stderr.contains("alert protocol version"), "\(version): \(r.stderr)")
        }
        let ok = try Command.run(
            [
                "openssl", "s_client", "-connect", "127.0.0.1:\(h.tlsPort)", "-tls1_2",
                "-CAfile", h.caFile!, "-servername", "localhost", "-verify_return_error",
            ], stdin: "")
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.contains("Protocol  : TLSv1.2"))
    }

    @Test func aRenegotiationAttemptIsRefusedWithAnAlert() throws {
        // s_client's "R" command starts a TLS 1.2 renegotiation; the edge answers no_renegotiation.
        let r = try Command.run([
            "sh", "-c",
            "(printf 'R\\n'; sleep 1) | openssl s_client -connect 127.0.0.1:\(h.tlsPort) -tls1_2 -CAfile \(h.caFile!) -servername localhost",
        ])
        #expect((r.stdout + r.stderr).contains("RENEGOTIATING"))
        #expect(r.stderr.contains("no renegotiation"), "\(r.stderr)")
        #expect(try h.client(.tls).get("/robots.txt").status == 200)
    }

    @Test func garbageInsteadOfAClientHelloGetsAnAlertAndACloseAndTheEdgeServesOn() throws {
        let failuresBefore = h.server.metrics.tlsHandshakeFailures.load(ordering: .relaxed)
        let c = try TestClient(port: h.tlsPort, timeoutSeconds: 5)
        // A handshake record holding a malformed ClientHello.
        try c.send([0x16, 0x03, 0x01, 0x00, 0x08, 0x01, 0x00, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef])
        let answer = try c.readToEnd()
        #expect(answer.first == 21)  // an alert record (RFC 8446 §5.1), then EOF
        // Plain HTTP on the TLS port: closed without an answer.
        let http = try TestClient(port: h.tlsPort, timeoutSeconds: 5)
        try http.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        #expect(try http.readToEnd().isEmpty)
        #expect(h.server.metrics.tlsHandshakeFailures.load(ordering: .relaxed) >= failuresBefore + 2)
        let ok = try h.client(.tls).get("/robots.txt")
        #expect(ok.status == 200)
    }

    @Test func aForgedRecordAfterTheHandshakeGetsABadRecordMACAlertAndAClose() throws {
        let c = try h.client(.tls)
        #expect(try c.get("/robots.txt").status == 200)
        // An application-data record (RFC 8446 §5.2) whose ciphertext was never sealed by the client.
        try c.sendRaw([0x17, 0x03, 0x03, 0x00, 0x20] + [UInt8](repeating: 0x41, count: 32))
        let answer = try c.readRawToEnd()
        // The server's alert is itself encrypted under TLS 1.3: the client's session opens it.
        guard case .failed(let error) = c.decrypt(answer) else {
            Issue.record("expected the server's alert, got \(answer.count) bytes")
            return
        }
        #expect(error.reason.contains("bad record mac"), "\(error)")
        #expect(try h.client(.tls).get("/robots.txt").status == 200)
    }

    @Test func aHugeRecordIsAnsweredWithAnAlertAndAClose() throws {
        let c = try TestClient(port: h.tlsPort, timeoutSeconds: 5)
        // A handshake record header claiming 65,535 bytes (over the 2^14 + 2048 limit, RFC 8446 §5.1).
        try c.send([0x16, 0x03, 0x01, 0xff, 0xff] + [UInt8](repeating: 0, count: 1024))
        let answer = try c.readToEnd()
        #expect(answer.first == 21)
    }

    @Test func manyConcurrentTLSHandshakesAllSucceed() throws {
        let h = self.h
        let bad = ConcurrentClients.run(count: 100) { _ in
            guard let c = try? h.client(.tls), let r = try? c.get("/robots.txt"), r.status == 200,
                r.body == h.files["/robots.txt"]
            else { return 1 }
            return 0
        }
        #expect(bad == 0)
    }
}

/// The handshake timeout and certificate reload, each on a harness of its own.
@Suite(.serialized) struct TLSEdgeLifecycleTests {
    @Test func aClientThatStallsMidHandshakeIsClosedAfterTheHandshakeTimeout() throws {
        let h = try EdgeHarness(tls: true) { $0.tls?.handshakeTimeoutMs = 500 }
        defer { h.stop() }
        let c = try TestClient(port: h.tlsPort, timeoutSeconds: 10)
        try c.send([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])  // the start of a ClientHello, then silence
        let started = Date()
        let answer = try c.readToEnd()
        let waited = Date().timeIntervalSince(started)
        #expect(answer.isEmpty)
        #expect(waited >= 0.4 && waited < 5, "closed after \(waited) s")
        #expect(h.server.metrics.tlsHandshakeTimeouts.load(ordering: .relaxed) == 1)
    }

    @Test func theAdminAPIServedOverTLSAnswersCurlAndRefusesPlainHTTP() throws {
        let h = try EdgeHarness(tls: true) { $0.adminPort = 0 }
        defer { h.stop() }
        let admin = AdminServer(edge: h.server, token: AdminToken("secret-token"))
        admin.useTLS(try #require(h.server.currentTLSContext))
        try admin.start()
        defer { admin.shutdown() }
        let ok = try Command.run([
            "curl", "-sS", "--cacert", h.caFile!, "-H", "Authorization: Bearer secret-token",
            "-o", "/dev/null", "-w", "%{http_code}", "https://localhost:\(admin.port)/_wharf/metrics",
        ])
        #expect(ok.stdout == "200", "\(ok.stderr)")
        let denied = try Command.run([
            "curl", "-sS", "--cacert", h.caFile!, "-o", "/dev/null", "-w", "%{http_code}",
            "https://localhost:\(admin.port)/_wharf/metrics",
        ])
        #expect(denied.stdout == "401")
        let plain = try TestClient(port: admin.port, timeoutSeconds: 5)
        try plain.send("GET /_wharf/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        #expect(try plain.readToEnd().isEmpty)  // closed: not HTTP on a TLS port
    }

    @Test func anAdminListenerBeyondLoopbackNeedsTLS() {
        var c = EdgeConfiguration()
        c.adminHost = "0.0.0.0"
        #expect(c.problems().contains { $0.key == "edge.admin_listen" && $0.reason.contains("edge.admin_tls") })
        c.adminTLS = true
        #expect(c.problems().contains { $0.key == "edge.admin_tls" })  // and TLS needs certificates
        c.tls = EdgeTLSConfiguration()
        #expect(c.problems().isEmpty)
        c.adminHost = "127.0.0.1"
        c.adminTLS = false
        #expect(c.problems().isEmpty)
    }

    @Test func ticketsResumeOnEveryLoopAcrossAReloadAndOneKeyRotationButNotTwo() throws {
        let h = try EdgeHarness(tls: true)  // two loops: connections land on either
        defer { h.stop() }
        let session = h.root.appendingPathComponent("session.pem").path
        func connect(saving: Bool) throws -> String {
            let args = [
                "openssl", "s_client", "-connect", "127.0.0.1:\(h.tlsPort)", "-servername", "localhost",
                "-CAfile", h.caFile!, saving ? "-sess_out" : "-sess_in", session,
            ]
            // A TLS 1.3 ticket arrives after the handshake: keep the connection open a moment.
            let r = try Command.run(["sh", "-c", "sleep 0.3 | " + args.joined(separator: " ")])
            return r.stdout.split(separator: "\n").first { $0.hasPrefix("New,") || $0.hasPrefix("Reused,") }.map {
                $0.hasPrefix("New") ? "New" : "Reused"
            } ?? "none"
        }
        #expect(try connect(saving: true) == "New")
        for _ in 0..<4 { #expect(try connect(saving: false) == "Reused") }
        let files = try #require(h.server.currentTLSContext?.certificates.map(\.files))
        try h.server.reloadCertificates(files)
        #expect(try connect(saving: false) == "Reused")
        let context = try #require(h.server.currentTLSContext)
        context.rotateTicketKey()  // the ticket's key becomes the previous one: it still opens
        #expect(try connect(saving: false) == "Reused")
        context.rotateTicketKey()  // and now it is gone: a full handshake
        #expect(try connect(saving: false) == "New")
    }

    @Test(arguments: EdgeHarness.Listener.allCases)
    func aPipelinedBurstWaitingOnAColdBodyLoadLosesNoRequest(_ via: EdgeHarness.Listener) throws {
        // A fresh edge: the first request's body loads off the loop, so the connection pauses
        // reading with 64 responses queued while the rest of the burst (the next TLS records,
        // decrypted in the same read) is already in hand; none of it may be lost.
        let h = try EdgeHarness(tls: true)
        defer { h.stop() }
        let c = try h.client(via)
        try c.send(String(repeating: "GET /assets/logo.9c8d7e6f.png HTTP/1.1\r\nHost: x\r\n\r\n", count: 400))
        var ok = 0
        for _ in 0..<400 {
            guard let r = try? c.readResponse() else { break }
            if r.status == 200 && r.body == h.files["/assets/logo.9c8d7e6f.png"] { ok += 1 }
        }
        #expect(ok == 400)
    }

    @Test func clientsThatLeaveInTheMiddleOfAFileBodyAreCleanedUp() throws {
        // The 3 MB file goes out in pread chunks; closing while one is on the thread pool must wait
        // for it (no completion after the connection is gone) and leak nothing.
        let h = try EdgeHarness(tls: true)
        defer { h.stop() }
        for _ in 0..<20 {
            let c = try h.client(.tls)
            try c.send("GET /downloads/app-release.apk HTTP/1.1\r\nHost: x\r\n\r\n")
            usleep(2_000)
        }  // each client is released (its socket closed) here, mid-body
        let open = { h.server.metrics.connectionsOpen.load(ordering: .relaxed) }
        for _ in 0..<200 where open() > 0 { usleep(20_000) }
        #expect(open() == 0)
        let r = try h.client(.tls).get("/downloads/app-release.apk")
        #expect(r.body == h.files["/downloads/app-release.apk"])
    }

    @Test func anOCSPResponseFromAFileIsStapledAfterAReload() throws {
        let h = try EdgeHarness(tls: true)
        defer { h.stop() }
        let dir = h.root.path
        func status() throws -> String {
            let r = try Command.run(
                [
                    "openssl", "s_client", "-connect", "127.0.0.1:\(h.tlsPort)", "-servername", "localhost",
                    "-CAfile", h.caFile!, "-status",
                ], stdin: "")
            return r.stdout.contains("OCSP Response Status: successful") && r.stdout.contains("Cert Status: good")
                ? "stapled"
                : r.stdout.contains("OCSP response: no response sent") ? "none" : "unexpected: \(r.stdout)"
        }
        #expect(try status() == "none")
        // A real OCSP response for the edge's certificate, signed by the test CA with openssl's responder.
        let serial = try Command.run(["openssl", "x509", "-in", "\(dir)/cert0.pem", "-noout", "-serial"])
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "serial=", with: "")
        try "V\t301231235959Z\t\t\(serial)\tunknown\t/CN=localhost\n".write(toFile: "\(dir)/index.txt", atomically: true, encoding: .utf8)
        let request = try Command.run([
            "openssl", "ocsp", "-issuer", "\(dir)/ca.pem", "-cert", "\(dir)/cert0.pem", "-no_nonce",
            "-reqout", "\(dir)/req.der",
        ])
        #expect(request.status == 0, "\(request.stderr)")
        let response = try Command.run([
            "openssl", "ocsp", "-index", "\(dir)/index.txt", "-rsigner", "\(dir)/ca.pem", "-rkey", "\(dir)/ca-key.pem",
            "-CA", "\(dir)/ca.pem", "-reqin", "\(dir)/req.der", "-respout", "\(dir)/resp.der", "-ndays", "1",
        ])
        #expect(response.status == 0, "\(response.stderr)")
        var files = TLSCertificateFiles(
            certificateChainPath: "\(dir)/cert0.pem", privateKeyPath: "\(dir)/cert0-key.pem",
            ocspResponsePath: "\(dir)/junk.der")
        try "not DER".write(toFile: "\(dir)/junk.der", atomically: true, encoding: .utf8)
        #expect {
            try h.server.reloadCertificates([files])
        } throws: { ($0 as? TLSError)?.reason == "\(dir)/junk.der: not a successful DER OCSP response" }
        files.ocspResponsePath = "\(dir)/resp.der"
        try h.server.reloadCertificates([files])
        var seen = ""
        for _ in 0..<50 {
            seen = try status()
            if seen == "stapled" { break }
            usleep(20_000)
        }
        #expect(seen == "stapled")
    }

    @Test(arguments: [true, false])
    func anUnknownNameGetsAnUnrecognizedNameAlertUnlessStrictSNIIsOff(strict: Bool) throws {
        let h = try EdgeHarness(tls: true, certificateNames: [["localhost", "127.0.0.1"], ["app.example.test"]]) {
            $0.tls?.strictServerNames = strict
        }
        defer { h.stop() }
        func handshake(_ name: String?) throws -> String {
            var args = ["openssl", "s_client", "-connect", "127.0.0.1:\(h.tlsPort)", "-CAfile", h.caFile!]
            args += name.map { ["-servername", $0] } ?? ["-noservername"]
            let r = try Command.run(args, stdin: "")
            if r.stderr.contains("unrecognized name") { return "unrecognized name" }
            return r.stdout.split(separator: "\n").first { $0.hasPrefix("subject=") }.map(String.init) ?? "failed: \(r.stderr)"
        }
        #expect(try handshake("unknown.example.test") == (strict ? "unrecognized name" : "subject=CN = localhost"))
        #expect(try handshake("app.example.test") == "subject=CN = app.example.test")
        #expect(try handshake("localhost") == "subject=CN = localhost")
        #expect(try handshake(nil) == "subject=CN = localhost")
    }

    @Test func theConnectionCapHoldsForTLSConnections() throws {
        let h = try EdgeHarness(tls: true) { c in
            c.workers = 1
            c.maxConnectionsPerWorker = 2
        }
        defer { h.stop() }
        let first = try h.client(.tls)
        let second = try h.client(.plain)
        #expect(try first.get("/robots.txt").status == 200)
        #expect(try second.get("/robots.txt").status == 200)
        // Over the cap a TLS connection is closed before any handshake (no plaintext 503 possible).
        #expect(throws: (any Error).self) { try h.client(.tls, timeoutSeconds: 5) }
        #expect(h.server.metrics.connectionsRefused.load(ordering: .relaxed) == 1)
        #expect(try first.get("/robots.txt").status == 200)
    }

    @Test func redirectAndHSTSApplyPerAppAndAreOffByDefault() throws {
        let h = try EdgeHarness(tls: true) { c in
            c.tls?.redirectApps = ["demo"]
            c.tls?.hstsApps = ["demo"]
            c.tls?.hstsMaxAgeSeconds = 600
        }
        defer { h.stop() }
        let plain = try h.client(.plain)
        let r = try plain.get("/robots.txt?x=1")
        #expect(r.status == 308)
        #expect(r.header("Location") == "https://localhost:\(h.tlsPort)/robots.txt?x=1")
        #expect(r.header("Strict-Transport-Security") == nil)  // never over plain HTTP (RFC 6797 §7.2)
        // curl follows it with the test CA and lands on the file.
        let followed = try Command.run([
            "curl", "-sS", "-L", "--cacert", h.caFile!, "-w", " %{http_code} %{num_redirects}",
            "http://localhost:\(h.port)/robots.txt",
        ])
        #expect(followed.stdout == String(decoding: h.files["/robots.txt"]!, as: UTF8.self) + " 200 1", "\(followed.stderr)")
        let secure = try h.client(.tls)
        for path in ["/", "/assets/logo.9c8d7e6f.png", "/assets/logo.9c8d7e6f.png", "/nope.txt"] {  // planned, a cache hit, a 404
            let response = try secure.get(path)
            #expect(response.header("Strict-Transport-Security") == "max-age=600", "\(path)")
        }
        let ranged = try secure.get("/robots.txt", headers: ["Range": "bytes=0-1,3-4"])
        #expect(ranged.status == 206)
        #expect(ranged.header("Strict-Transport-Security") == "max-age=600")
        #expect(ranged.header("Content-Length") == "\(ranged.body.count)")
        // The shared harness configures neither: no redirect, no HSTS.
        let d = TLSEdgeTests.shared
        #expect(try d.client(.plain).get("/robots.txt").status == 200)
        #expect(try d.client(.tls).get("/robots.txt").header("Strict-Transport-Security") == nil)
    }

    @Test func reloadingCertificatesKeepsOpenConnectionsAndNewHandshakesSeeTheNewOne() throws {
        let h = try EdgeHarness(tls: true)
        defer { h.stop() }
        let kept = try h.client(.tls)
        #expect(try kept.get("/robots.txt").status == 200)
        #expect(kept.peerCertificateNames == ["localhost", "127.0.0.1", "::1"])
        // A new certificate from the same CA, with another name list, written to new files.
        let caPEM = try [UInt8](Data(contentsOf: h.root.appendingPathComponent("ca.pem")))
        let caKey = try [UInt8](Data(contentsOf: h.root.appendingPathComponent("ca-key.pem")))
        let issued = try CertificateIssuer(certificatePEM: caPEM, privateKeyPEM: caKey)
            .issueServerCertificate(names: ["localhost", "reloaded.example.test"])
        let files = TLSCertificateFiles(
            certificateChainPath: h.root.appendingPathComponent("new.pem").path,
            privateKeyPath: h.root.appendingPathComponent("new-key.pem").path)
        try DevelopmentCertificates.writeFile(files.certificateChainPath, issued.certificatePEM, mode: 0o644)
        try DevelopmentCertificates.writeFile(files.privateKeyPath, issued.privateKeyPEM, mode: 0o600)
        // A mismatched pair is refused and changes nothing.
        let wrong = TLSCertificateFiles(
            certificateChainPath: files.certificateChainPath, privateKeyPath: h.root.appendingPathComponent("cert0-key.pem").path)
        #expect(throws: TLSError.self) { try h.server.reloadCertificates([wrong]) }
        try h.server.reloadCertificates([files])
        // Loops pick the new context up asynchronously: wait (bounded) for a handshake to show it.
        var names: [String] = []
        for _ in 0..<100 {
            names = try h.client(.tls).peerCertificateNames
            if names.contains("reloaded.example.test") { break }
            usleep(20_000)
        }
        #expect(names == ["localhost", "reloaded.example.test"])
        // The keep-alive connection opened before the reload is still served.
        let again = try kept.get("/robots.txt")
        #expect(again.status == 200)
        #expect(again.body == h.files["/robots.txt"])
    }
}
