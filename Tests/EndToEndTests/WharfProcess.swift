import Foundation
import Glibc

/// Runs the real `wharf` executable built next to the test bundle (`.build/<triple>/debug/wharf`),
/// or the one named by `WHARF_BINARY`.
enum WharfProcess {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static var binary: String {
        if let override = ProcessInfo.processInfo.environment["WHARF_BINARY"] { return override }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: exe).deletingLastPathComponent()
        // The test runner may live inside a bundle directory; walk up until a `wharf` is found.
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("wharf").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory.deleteLastPathComponent()
        }
        return "wharf-binary-not-built-run-swift-build-first"
    }

    /// Runs `wharf args…` (optionally through a wrapper such as setpriv or bash) to completion.
    static func run(_ arguments: [String], environment: [String: String] = [:], wrapper: [String] = []) throws -> Result {
        let process = Process()
        let command = wrapper + [binary] + arguments
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "WHARF_STORE")
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Starts `wharf args…` without waiting; stdout/stderr are discarded.
    static func start(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Waits up to `seconds` for `process` to exit; if it has not, SIGKILLs it and returns false
    /// (a hung child fails its test instead of hanging the suite).
    static func waitForExit(_ process: Process, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return false
        }
        process.waitUntilExit()
        return true
    }
}

/// A real temporary directory, removed when released.
final class ScratchDirectory {
    let path: String

    init(_ label: String) {
        var template = Array((NSTemporaryDirectory() + "/\(label)-XXXXXX").utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(created != nil, "mkdtemp failed")
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // Builds run as an unprivileged user, which must pass through to the store's sandbox.
        chmod(path, 0o711)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    @discardableResult
    func write(_ relative: String, _ bytes: [UInt8]) throws -> String {
        let full = path + "/" + relative
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: full))
        return full
    }

    @discardableResult
    func write(_ relative: String, _ text: String) throws -> String { try write(relative, Array(text.utf8)) }
}

/// Pseudo-random (incompressible) and repetitive (compressible) bytes.
enum Bytes {
    static func random(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed &+ 0x9E37_79B9_7F4A_7C15
        var out = [UInt8]()
        out.reserveCapacity(count)
        while out.count < count {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            withUnsafeBytes(of: state) { out.append(contentsOf: $0.prefix(count - out.count)) }
        }
        return out
    }

    /// Hex digits: compresses to about half, so variants of large files are large too.
    static func hex(_ count: Int, seed: UInt64) -> [UInt8] {
        let digits = Array("0123456789abcdef".utf8)
        return random(count, seed: seed).map { digits[Int($0 & 0x0f)] }
    }

    static func text(_ count: Int, seed: Int) -> [UInt8] {
        var out = [UInt8]()
        var i = seed
        while out.count < count {
            out.append(contentsOf: Array("export function cargo\(i)(t) { return t * \(i % 89) + \"berth-\(i % 11)\"; }\n".utf8))
            i += 1
        }
        return Array(out.prefix(count))
    }
}
