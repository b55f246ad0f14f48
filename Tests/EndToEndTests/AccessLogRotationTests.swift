import Foundation
import Glibc
import Testing
import WharfTestSupport

/// The access log of a real `wharf edge` process: written while serving, reopened on SIGUSR1
/// after the file was renamed (rotation), flushed on SIGTERM; the process keeps serving throughout.
@Suite struct AccessLogRotationTests {
    static func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    @Test func sigusr1ReopensTheRenamedLogAndSigtermWritesTheRest() throws {
        let scratch = ScratchDirectory("wharf-access-log-rotation")
        let store = scratch.path + "/store"
        let log = scratch.path + "/access.log"
        #expect(try WharfProcess.run(["publish", "demo", ServeDemoTests.demoSite, "--store", store]).status == 0)
        try scratch.write("wharf.yaml", "edge:\n  access_log:\n    path: \(log)\n    flush_ms: 50\n")
        let port = ServeDemoTests.freePort()
        let admin = ServeDemoTests.freePort()
        let server = try WharfProcess.start([
            "edge", "--store", store, "--config", scratch.path + "/wharf.yaml",
            "--listen", "127.0.0.1:\(port)", "--admin-listen", "127.0.0.1:\(admin)", "--workers", "2",
        ])
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        #expect(eventually(20) { (try? ServeDemoTests.curl(["-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/"]).out) == "200" })
        #expect(eventually(5) { Self.lines(log).count >= 1 })
        let before = Self.lines(log).count
        try FileManager.default.moveItem(atPath: log, toPath: log + ".1")
        kill(server.processIdentifier, SIGUSR1)
        #expect(eventually(5) { FileManager.default.fileExists(atPath: log) }, "not reopened after SIGUSR1")
        for _ in 0..<3 {
            #expect(try ServeDemoTests.curl(["-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/robots-missing.txt"]).out == "404")
        }
        kill(server.processIdentifier, SIGTERM)
        server.waitUntilExit()
        #expect(server.terminationStatus == 0)
        #expect(Self.lines(log + ".1").count == before)
        let after = Self.lines(log)
        #expect(after.count == 3, "\(after)")
        #expect(after.allSatisfy { $0.contains("\"GET /robots-missing.txt HTTP/1.1\" 404 ") })
    }
}
