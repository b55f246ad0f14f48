import Foundation
import Glibc
import WharfTestSupport

/// A long-running `wharf` subprocess (`scheduler` or `serve`) with its stderr kept in a file, and
/// helpers the scheduler tests share: job JSON from `wharf jobs --json`, waiting with a deadline,
/// and HTTP through curl.
final class WharfDaemon {
    let process: Process
    let stderrPath: String

    init(_ arguments: [String], stderrPath: String, environment: [String: String] = [:]) throws {
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process = Process()
        process.executableURL = URL(fileURLWithPath: WharfProcess.binary)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "WHARF_STORE")
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        self.stderrPath = stderrPath
        try process.run()
    }

    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Sends `signal` and waits (at most `seconds`) for the exit; returns the status, nil on timeout.
    func stop(_ signal: Int32 = SIGTERM, within seconds: Double = 20) -> Int32? {
        if process.isRunning { kill(process.processIdentifier, signal) }
        let ended = eventually(seconds) { !self.process.isRunning }
        return ended ? process.terminationStatus : nil
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// Jobs as `wharf jobs --json --attempts` prints them (the admin API's shape).
struct JobRow: Decodable {
    struct Attempt: Decodable {
        var attempt: Int
        var owner: String
        var startedAt: Double
        var endedAt: Double?
        var outcome: String?
    }
    var id: Int64
    var app: String
    var state: String
    var attempt: Int
    var error: String?
    var deploymentId: String?
    var cacheHit: Bool
    var force: Bool?
    var logPath: String?
    var attempts: [Attempt]?

    var isFinal: Bool { ["succeeded", "failed", "cancelled", "timed_out"].contains(state) }

    static func list(store: String, extra: [String] = []) throws -> [JobRow] {
        let result = try WharfProcess.run(["jobs", "--json", "--attempts", "--store", store, "--limit", "1000"] + extra)
        guard result.status == 0 else { throw CommandFailed(result.stderr) }
        return try JSONDecoder().decode([JobRow].self, from: Data(result.stdout.utf8))
    }
}

struct CommandFailed: Error, CustomStringConvertible {
    var description: String
    init(_ text: String) { description = text }
}

/// One HTTP exchange through curl (a real client on a real socket).
struct CurlResponse {
    var status: Int
    var body: String

    static func send(_ method: String, _ url: String, token: String?, body: String? = nil) throws -> CurlResponse {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        var arguments = ["curl", "-s", "-S", "--max-time", "10", "-X", method, "-w", "\n%{http_code}"]
        if let token { arguments += ["-H", "Authorization: Bearer \(token)"] }
        if let body { arguments += ["-H", "Content-Type: application/json", "--data-binary", body] }
        process.arguments = arguments + [url]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard let newline = text.lastIndex(of: "\n"), let status = Int(text[text.index(after: newline)...]) else {
            throw CommandFailed("curl gave no status: \(text)")
        }
        return CurlResponse(status: status, body: String(text[..<newline]))
    }

    func json() throws -> Any { try JSONSerialization.jsonObject(with: Data(body.utf8)) }
}

/// A small shell build for fixtures: `::stage` markers, short sleeps, an output directory.
enum BuildFixture {
    static func script(sleep: String = "0.2", output: String = "dist", extra: String = "") -> String {
        """
        #!/bin/sh
        echo "::stage validation"
        sleep \(sleep)
        echo "::stage compilation"
        echo "compiling for $WHARF_TEST_LABEL" >&2
        \(extra)
        sleep \(sleep)
        mkdir -p \(output)
        echo "<!doctype html><title>built</title><p>built by wharf</p>" > \(output)/index.html
        echo "::stage packaging"
        echo "build done"

        """
    }
}
