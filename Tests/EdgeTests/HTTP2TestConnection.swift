import Foundation
import Glibc

/// One HTTP/2 connection held by a real client process (`Tests/Support/h2-client.py`, on Python's
/// `h2` package): requests go to its stdin as JSON lines, responses come back the same way, so a
/// test written against `TestClient.get` runs unchanged over HTTP/2.
final class HTTP2TestConnection: @unchecked Sendable {
    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Support/h2-client.py").path
    }

    private let process = Process()
    private let input: FileHandle
    private let output: FileHandle
    private var buffered: [UInt8] = []
    private let timeoutSeconds: Int

    init(port: Int, caFile: String?, timeoutSeconds: Int) throws {
        self.timeoutSeconds = timeoutSeconds
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        var arguments = ["python3", HTTP2TestConnection.script, "--port", "\(port)", "--timeout", "\(timeoutSeconds)"]
        if let caFile { arguments += ["--ca", caFile] } else { arguments.append("--cleartext") }
        process.arguments = arguments
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        input = stdin.fileHandleForWriting
        output = stdout.fileHandleForReading
        try process.run()
    }

    deinit {
        try? input.close()
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    struct Failure: Error, CustomStringConvertible { var description: String }

    func request(method: String, path: String, headers: [String: String]) throws -> TestClient.Response {
        let line = try JSONSerialization.data(withJSONObject: ["method": method, "path": path, "headers": headers])
        try input.write(contentsOf: line + Data("\n".utf8))
        let reply = try readLine()
        guard let object = try JSONSerialization.jsonObject(with: Data(reply)) as? [String: Any],
            let status = object["status"] as? Int
        else { throw Failure(description: "h2 client said: \(String(decoding: reply, as: UTF8.self))") }
        func pairs(_ any: Any?) -> [(String, String)] {
            ((any as? [[String]]) ?? []).compactMap { $0.count == 2 ? ($0[0], $0[1]) : nil }
        }
        var response = TestClient.Response(
            status: status, headers: pairs(object["headers"]),
            body: Array(Data(base64Encoded: object["body"] as? String ?? "") ?? Data()))
        for interim in (object["interim"] as? [[String: Any]]) ?? [] {
            response.interim.append(TestClient.Response(status: interim["status"] as? Int ?? 0, headers: pairs(interim["headers"]), body: []))
        }
        return response
    }

    /// One line of the client's output (its process ends with an error message otherwise).
    private func readLine() throws -> [UInt8] {
        let deadline = Date().addingTimeInterval(Double(timeoutSeconds) + 5)
        var scanned = 0
        while true {
            if let newline = buffered[scanned...].firstIndex(of: 10) {
                let line = Array(buffered[..<newline])
                buffered.removeFirst(newline + 1)
                return line
            }
            scanned = buffered.count
            let chunk = output.availableData
            if chunk.isEmpty {
                throw Failure(description: "h2 client exited (status \(process.isRunning ? -1 : process.terminationStatus))")
            }
            buffered.append(contentsOf: chunk)
            if Date() > deadline { throw Failure(description: "no answer from the h2 client") }
        }
    }
}
