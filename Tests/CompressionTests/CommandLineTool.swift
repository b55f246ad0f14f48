import Foundation

/// Runs the real `brotli`, `zstd` and `gzip` programs on files in a private temporary directory.
struct CommandLineTool {
    struct Failure: Error, CustomStringConvertible {
        let command: String
        let status: Int32
        var description: String { "`\(command)` exited with status \(status)" }
    }

    /// A fresh directory, removed by `cleanUp()`.
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-compression-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func cleanUp() {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Writes `input` to a file, runs `command` with `IN` and `OUT` replaced by file paths, and returns OUT's bytes.
    /// Example: `try tool.run("gzip -9 -c IN > OUT", input: bytes)`.
    func run(_ command: String, input: [UInt8]) throws -> [UInt8] {
        let inputFile = directory.appendingPathComponent(UUID().uuidString + ".in")
        let outputFile = directory.appendingPathComponent(UUID().uuidString + ".out")
        defer {
            try? FileManager.default.removeItem(at: inputFile)
            try? FileManager.default.removeItem(at: outputFile)
        }
        try Data(input).write(to: inputFile)
        let line =
            command
            .replacingOccurrences(of: "IN", with: "'\(inputFile.path)'")
            .replacingOccurrences(of: "OUT", with: "'\(outputFile.path)'")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", line]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw Failure(command: command, status: process.terminationStatus) }
        return [UInt8](try Data(contentsOf: outputFile))
    }
}
