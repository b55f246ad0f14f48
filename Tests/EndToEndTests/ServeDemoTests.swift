import Foundation
import Glibc
import Testing

/// The real `wharf edge` process serving the bundled demo app, as `make run` does.
@Suite struct ServeDemoTests {
    static let demoSite = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("demo/site").path

    /// A loopback port that was free a moment ago.
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Int32 in
                bind(fd, p, len)
                return getsockname(fd, p, &len)
            }
        }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    static func curl(_ args: [String]) throws -> (status: Int32, out: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        p.arguments = ["-s", "--max-time", "5"] + args
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func theDemoAppIsServedWholeAndSigtermDrainsAndExitsZero() throws {
        let scratch = ScratchDirectory("wharf-serve-demo")
        let store = scratch.path + "/store"
        #expect(try WharfProcess.run(["publish", "demo", Self.demoSite, "--store", store]).status == 0)
        let port = Self.freePort()
        let admin = Self.freePort()
        let server = try WharfProcess.start([
            "edge", "--store", store, "--listen", "127.0.0.1:\(port)",
            "--admin-listen", "127.0.0.1:\(admin)", "--workers", "2",
        ])
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        var index = ""
        for _ in 0..<100 {
            index = try Self.curl(["http://127.0.0.1:\(port)/"]).out
            if !index.isEmpty { break }
            usleep(100_000)
        }
        #expect(index.contains("<html") || index.contains("<!doctype") || index.contains("<!DOCTYPE"))
        // Every asset the entry point references loads.
        let pattern = try NSRegularExpression(pattern: ##"(?:src|href)="([^"#:]+)""##)
        let refs = pattern.matches(in: index, range: NSRange(index.startIndex..., in: index)).compactMap {
            Range($0.range(at: 1), in: index).map { String(index[$0]) }
        }
        #expect(refs.count >= 3)
        for ref in refs {
            let path = ref.hasPrefix("/") ? ref : "/" + ref
            let r = try Self.curl(["-o", "/dev/null", "-w", "%{http_code}", "--compressed", "http://127.0.0.1:\(port)\(path)"])
            #expect(r.out == "200", "\(path)")
        }
        let health = try Self.curl(["http://127.0.0.1:\(admin)/_wharf/health"])
        #expect(health.out.contains("ok"))
        kill(server.processIdentifier, SIGTERM)
        server.waitUntilExit()
        #expect(server.terminationReason == .exit)
        #expect(server.terminationStatus == 0)
    }

    @Test func anInvalidConfigurationIsReportedWithItsKeyBeforeAnythingStarts() throws {
        let scratch = ScratchDirectory("wharf-check-config")
        let file = try scratch.write("bad.yaml", "edge:\n  workers: -3\n  listen: nowhere\n")
        let r = try WharfProcess.run(["check-config", "--config", file, "--store", scratch.path + "/s"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("edge.workers"))
        #expect(r.stderr.contains("edge.listen"))
        let env = try WharfProcess.run(["check-config", "--store", scratch.path + "/s"], environment: ["WHARF_EDGE_CACHE_BYTES": "lots"])
        #expect(env.status != 0)
        #expect(env.stderr.contains("edge.cache_bytes"))
        let good = try WharfProcess.run(["check-config", "--store", scratch.path + "/s"], environment: ["WHARF_EDGE_WORKERS": "3"])
        #expect(good.status == 0)
        #expect(good.stdout.contains("edge.workers: 3"))
    }
}
