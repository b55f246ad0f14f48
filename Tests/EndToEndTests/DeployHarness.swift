import Foundation
import Glibc
import Testing
import WharfTestSupport

/// A store with registered apps and a running `wharf edge` whose admin API carries the upload
/// API, for the deploy end-to-end tests; requests are made with curl (a real client that sends
/// exactly the bytes a test asks for).
final class DeployHarness {
    let scratch: ScratchDirectory
    let store: String
    let adminToken = "admin-token-for-deploy-tests"
    private(set) var daemon: WharfDaemon?
    private(set) var adminPort = 0
    private(set) var edgePort = 0
    private(set) var tlsPort = 0
    var tls = false

    init(_ label: String) {
        scratch = ScratchDirectory(label)
        store = scratch.path + "/store"
    }

    /// `wharf apps add NAME …`; returns the deploy token written to a file.
    @discardableResult
    func register(_ app: String, _ extra: [String] = []) throws -> String {
        let file = scratch.path + "/\(app)-\(UUID().uuidString.prefix(8)).token"
        let result = try WharfProcess.run(["apps", "add", app, "--store", store, "--token-file", file] + extra)
        #expect(result.status == 0, "\(result.stderr)")
        return try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Starts `wharf edge` (or `command`, e.g. "serve", with `extra` arguments such as `--config F`).
    func start(environment: [String: String] = [:], command: String = "edge", extra: [String] = []) throws {
        var env = ["WHARF_ADMIN_TOKEN": adminToken]
        if tls {
            env["WHARF_EDGE_TLS_ENABLED"] = "true"
            env["WHARF_EDGE_TLS_LISTEN"] = "127.0.0.1:0"
            env["WHARF_EDGE_ADMIN_TLS"] = "true"
        }
        for (k, v) in environment { env[k] = v }
        let d = try WharfDaemon(
            [command, "--store", store, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--workers", "1"] + extra,
            stderrPath: scratch.path + "/edge.log", environment: env)
        daemon = d
        guard eventually(60, { d.stderr.contains("admin API on") }),
            let admin = SchedulerAPITests.port(after: tls ? "admin API on https://127.0.0.1:" : "admin API on http://127.0.0.1:", in: d.stderr),
            let edge = SchedulerAPITests.port(after: "edge listening on http://127.0.0.1:", in: d.stderr)
        else {
            Issue.record("the edge did not start:\n\(d.stderr)")
            throw CancellationError()
        }
        adminPort = admin
        edgePort = edge
        if tls { tlsPort = SchedulerAPITests.port(after: "edge listening on https://localhost:", in: d.stderr) ?? 0 }
    }

    var adminURL: String { "\(tls ? "https" : "http")://127.0.0.1:\(adminPort)" }
    var caFile: String { store + "/tls/ca.pem" }

    struct Reply {
        var status: Int
        var body: String
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:] }
    }

    /// One request with curl; `body` goes through a file so any bytes (NUL included) arrive as given.
    func request(_ method: String, _ path: String, token: String?, body: [UInt8]? = nil, headers: [String] = []) throws -> Reply {
        var args = ["-s", "--max-time", "60", "-X", method, "-o", scratch.path + "/reply", "-w", "%{http_code}"]
        if tls { args += ["--cacert", caFile] }
        if let token { args += ["-H", "Authorization: Bearer \(token)"] }
        for h in headers { args += ["-H", h] }
        if let body {
            let file = scratch.path + "/request-body"
            try Data(body).write(to: URL(fileURLWithPath: file))
            args += ["--data-binary", "@" + file, "-H", "Expect:"]
            if !headers.contains(where: { $0.lowercased().hasPrefix("content-type") }) { args += ["-H", "Content-Type: application/json"] }
        }
        args.append(adminURL + path)
        let result = try ServeDemoTests.curl(args)
        let reply = (try? String(contentsOfFile: scratch.path + "/reply", encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: scratch.path + "/reply")
        return Reply(status: Int(result.out) ?? 0, body: reply)
    }

    func post(_ path: String, token: String?, json: String) throws -> Reply {
        try request("POST", path, token: token, body: Array(json.utf8))
    }

    /// A counter from `/_wharf/metrics`.
    func metric(_ name: String) throws -> Int {
        let text = try request("GET", "/_wharf/metrics", token: adminToken).body
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Int(line.split(separator: " ")[1]) ?? -1
        }
        return -1
    }

    /// `wharf deploy DIR --app APP --to <admin> --token T …` (through `wrapper`, e.g. bwrap).
    func deploy(_ directory: String, app: String, token: String, _ extra: [String] = [], wrapper: [String] = []) throws -> WharfProcess.Result {
        try WharfProcess.run(
            ["deploy", directory, "--app", app, "--to", adminURL, "--token", token, "--retries", "2"] + extra,
            wrapper: wrapper)
    }

    /// The store's state a refused upload must not change: `wharf deployments` and `wharf verify`.
    func storeState(app: String) throws -> (deployments: String, verified: Bool) {
        let list = try WharfProcess.run(["deployments", app, "--store", store])
        let verify = try WharfProcess.run(["verify", "--store", store])
        return (list.stdout, verify.status == 0)
    }

    func stop() {
        #expect(daemon?.stop() == 0)
    }

    static func sha256(_ bytes: [UInt8]) throws -> String {
        let file = NSTemporaryDirectory() + "/wharf-sha-\(UUID().uuidString)"
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        p.arguments = [file]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(String(decoding: data, as: UTF8.self).prefix(64))
    }

    /// RFC 9530 header value for a hex digest.
    static func contentDigest(_ hex: String) -> String {
        var bytes: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            bytes.append(UInt8(hex[i..<j], radix: 16)!)
            i = j
        }
        return "Content-Digest: sha-256=:\(Data(bytes).base64EncodedString()):"
    }
}
