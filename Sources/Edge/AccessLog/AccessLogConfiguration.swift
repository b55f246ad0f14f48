/// The access log (`edge.access_log.*`): one line per response, written off the loops in batches.
public struct AccessLogConfiguration: Sendable, Equatable {
    /// Line formats.
    public enum Format: String, Sendable, CaseIterable {
        /// NCSA combined plus the request time in seconds (nginx's `combined` + `$request_time`).
        case combined
        /// One JSON object per line.
        case json
    }

    /// The file; empty: no access log (the default, for benchmarks).
    public var path = ""
    public var format = Format.combined
    /// Lines waiting to be written, per loop, at most this many bytes; past it lines are dropped
    /// and counted (the loop never waits for the disk).
    public var bufferBytes = 1 << 20
    /// How often the writer writes what has gathered.
    public var flushMs = 500

    public init() {}

    public var enabled: Bool { !path.isEmpty }

    public func problems() -> [(key: String, reason: String)] {
        var found: [(String, String)] = []
        if bufferBytes < 4096 || bufferBytes > 1 << 30 { found.append(("edge.access_log.buffer_bytes", "must be 4096 to 1073741824")) }
        if flushMs < 10 || flushMs > 60_000 { found.append(("edge.access_log.flush_ms", "must be 10 to 60000")) }
        return found
    }
}
