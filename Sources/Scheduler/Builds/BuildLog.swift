import Foundation

/// Where a log line came from.
enum BuildLogSource: String, Sendable {
    case out, err
    /// Wharf's own notes (timeout warning, kill, log cap).
    case wharf
}

/// Writes a build's output to its log file as timestamped lines
/// (`2026-11-22T02:46:39.123Z out | text`), with a byte cap and secret values redacted. Chunks are
/// split into lines per stream; an over-long partial line is cut at 16 KiB. Not thread-safe: one
/// runner (one loop thread) owns it.
final class BuildLog {
    static let maxLineBytes = 16 * 1024
    public let path: String
    let capBytes: Int
    private(set) var bytesWritten = 0
    /// True once a line did not fit under the cap; nothing more is written except the final note.
    private(set) var capReached = false
    private let handle: FileHandle
    private let secrets: [String]
    private let clock: any SchedulerClock
    private var partial: [BuildLogSource: [UInt8]] = [:]
    private let timestampStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    /// Creates (truncating) the log at `path`, with its parent directories.
    init(path: String, capBytes: Int, secrets: [String] = [], clock: any SchedulerClock = SystemClock()) throws {
        self.path = path
        self.capBytes = max(1024, capBytes)
        // Short values would redact ordinary words; secrets under 4 bytes are not worth hiding that way.
        self.secrets = secrets.filter { $0.utf8.count >= 4 }.sorted { $0.utf8.count > $1.utf8.count }
        self.clock = clock
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
        }
        handle = try FileHandle(forWritingTo: url)
    }

    deinit { try? handle.close() }

    /// Appends a chunk; returns the complete lines it finished (without newline), for marker parsing.
    @discardableResult
    func append(_ bytes: [UInt8], from source: BuildLogSource) -> [Substring] {
        var buffer = partial[source, default: []]
        buffer.append(contentsOf: bytes)
        var lines: [Substring] = []
        var start = 0
        while let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
            lines.append(Self.text(buffer[start..<newline]))
            start = newline + 1
        }
        while buffer.count - start > Self.maxLineBytes {
            lines.append(Self.text(buffer[start..<(start + Self.maxLineBytes)]))
            start += Self.maxLineBytes
        }
        partial[source] = Array(buffer[start...])
        for line in lines { write(line, from: source) }
        return lines
    }

    /// Writes any unfinished lines (at the end of the build).
    func flush() {
        for source in [BuildLogSource.out, .err] {
            if let rest = partial[source], !rest.isEmpty { write(Self.text(rest[...]), from: source) }
            partial[source] = nil
        }
    }

    /// Writes one of Wharf's own notes; always written, even past the cap (a few bytes over at most).
    func note(_ message: String) {
        writeRaw(line(Substring(message), from: .wharf))
    }

    private func write(_ text: Substring, from source: BuildLogSource) {
        guard !capReached else { return }
        let data = line(text, from: source)
        if bytesWritten + data.count > capBytes {
            capReached = true
            note("log cap of \(capBytes) bytes reached: output after this point is dropped")
            return
        }
        writeRaw(data)
    }

    private func line(_ text: Substring, from source: BuildLogSource) -> Data {
        var text = String(text)
        for secret in secrets where text.contains(secret) { text = text.replacingOccurrences(of: secret, with: "***") }
        return Data("\(clock.now().formatted(timestampStyle)) \(source.rawValue) | \(text)\n".utf8)
    }

    private func writeRaw(_ data: Data) {
        handle.write(data)
        bytesWritten += data.count
    }

    private static func text(_ bytes: ArraySlice<UInt8>) -> Substring {
        var slice = bytes
        if slice.last == UInt8(ascii: "\r") { slice = slice.dropLast() }
        return Substring(String(decoding: slice, as: UTF8.self))
    }
}
