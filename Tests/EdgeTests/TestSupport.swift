import Compression
import Foundation
import Synchronization

/// Decodes a response body with the real codec its Content-Encoding names.
enum Decoding {
    static func decode(_ body: [UInt8], coding: String) throws -> [UInt8] {
        let codec: Codec
        switch coding {
        case "br": codec = .brotli()
        case "zstd": codec = .zstd()
        case "gzip": codec = .gzip()
        default: return body
        }
        return try codec.decode(body, maxOutputBytes: 64 << 20)
    }
}

/// Splits a multipart/byteranges body into its parts (headers lower-cased).
enum Multipart {
    struct Part {
        var headers: [String: String]
        var body: [UInt8]
    }

    static func split(_ body: [UInt8], boundary: String) -> [Part] {
        let delimiter = Array("--\(boundary)".utf8)
        var parts: [Part] = []
        var positions: [Int] = []
        var i = 0
        while i + delimiter.count <= body.count {
            if Array(body[i..<(i + delimiter.count)]) == delimiter {
                positions.append(i)
                i += delimiter.count
            } else {
                i += 1
            }
        }
        for (n, start) in positions.enumerated() where n + 1 < positions.count {
            var p = start + delimiter.count + 2  // CRLF after the delimiter
            var headers: [String: String] = [:]
            while p + 1 < body.count, !(body[p] == 13 && body[p + 1] == 10) {
                var e = p
                while !(body[e] == 13 && body[e + 1] == 10) { e += 1 }
                let line = String(decoding: body[p..<e], as: UTF8.self)
                if let colon = line.firstIndex(of: ":") {
                    headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                p = e + 2
            }
            p += 2
            let end = positions[n + 1] - 2  // CRLF before the next delimiter
            parts.append(Part(headers: headers, body: Array(body[p..<end])))
        }
        return parts
    }
}

/// Runs `count` blocking clients on their own threads at once; returns the sum of their results.
enum ConcurrentClients {
    static func run(count: Int, _ body: @escaping @Sendable (Int) -> Int) -> Int {
        let total = Mutex(0)
        let group = DispatchGroup()
        for i in 0..<count {
            group.enter()
            let t = Thread {
                let n = body(i)
                total.withLock { $0 += n }
                group.leave()
            }
            t.stackSize = 1 << 20
            t.start()
        }
        group.wait()
        return total.withLock { $0 }
    }
}

/// Runs a real command-line client (curl, openssl, python3) with a deadline; the child is ended by
/// its own PID if it overruns.
enum Command {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ arguments: [String], stdin: String? = nil, timeoutSeconds: Double = 20) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        let input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try? input.fileHandleForWriting.close()
        // Read both pipes on other threads so a chatty child never blocks on a full pipe.
        let collected = Mutex([Data(), Data()])
        let group = DispatchGroup()
        for (index, pipe) in [out, err].enumerated() {
            group.enter()
            Thread {
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                collected.withLock { $0[index] = data }
                group.leave()
            }.start()
        }
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        group.wait()
        return Result(
            status: process.terminationStatus,
            stdout: String(decoding: collected.withLock { $0[0] }, as: UTF8.self),
            stderr: String(decoding: collected.withLock { $0[1] }, as: UTF8.self))
    }
}
