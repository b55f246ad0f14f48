import Foundation

/// A build's stages in order, with when each began and ended, read from its log: the
/// `::stage NAME` lines the build printed on stdout (the markers `BuildStages` times while it
/// runs) and the timestamps the build log put in front of every line. Fed the log a piece at a
/// time (what `BuildLogFollower` hands out, attempt headers included), so a running build's
/// timeline is brought up to date by reading only what was written since.
///
/// Why from the log and not from the runner's memory: the log is on disk beside the queue, so the
/// admin server of a `wharf edge` sees the stages of a build a separate `wharf scheduler` runs.
public struct BuildStageTimeline: Sendable, Equatable {
    /// One stage: a marker up to the next marker (or the attempt's last line, or now).
    public struct Stage: Sendable, Equatable {
        public var name: String
        /// Seconds since the Unix epoch.
        public var startedAt: Double
        /// nil while it is the last stage of an attempt that has not ended.
        public var endedAt: Double?
    }

    /// Most stages kept: a build printing markers without end keeps its latest ones.
    public static let maxStages = 200

    /// The attempt the stages belong to (the log's latest; 1 before any header).
    public private(set) var attempt = 1
    /// The first line of the attempt (seconds since the Unix epoch); nil before any line.
    public private(set) var startedAt: Double?
    /// The latest line of the attempt.
    public private(set) var lastLineAt: Double?
    public private(set) var stages: [Stage] = []
    /// Stages dropped from the front past `maxStages`.
    public private(set) var omitted = 0
    /// True once the attempt's log is complete (`finish`): the last stage then ends at its last line.
    private(set) var isFinished = false
    private var pending: [UInt8] = []

    public init() {}

    /// Takes log bytes as the follower hands them out; a line split across pieces waits for its end.
    public mutating func feed(_ bytes: [UInt8]) {
        pending += bytes
        guard let last = pending.lastIndex(of: 0x0A) else {
            // A line over the log's own cap cannot be a log line: drop it rather than grow.
            if pending.count > 64 * 1024 { pending.removeAll() }
            return
        }
        let complete = pending[..<last]
        pending = Array(pending[(last + 1)...])
        let rest = pending
        for line in complete.split(separator: 0x0A, omittingEmptySubsequences: true) {
            take(line)
        }
        // An attempt header starts afresh (and empties `pending`): the unfinished line stays.
        pending = rest
    }

    /// The log is complete (the job reached a final state): the current stage ends at the last line.
    public mutating func finish() {
        isFinished = true
        if let lastLineAt, let i = stages.indices.last, stages[i].endedAt == nil { stages[i].endedAt = lastLineAt }
    }

    /// The stage still running (the last one, when the attempt has not ended).
    public var current: Stage? {
        guard !isFinished, let last = stages.last, last.endedAt == nil else { return nil }
        return last
    }

    private mutating func take(_ line: ArraySlice<UInt8>) {
        if let attempt = Self.attemptHeader(line) {
            self = BuildStageTimeline()
            self.attempt = attempt
            return
        }
        // `2026-11-22T02:46:39.123Z out | text`
        guard let space = line.firstIndex(of: 0x20), let time = Self.timestamp(line[line.startIndex..<space]) else { return }
        if startedAt == nil { startedAt = time }
        lastLineAt = max(lastLineAt ?? time, time)
        let rest = line[(space + 1)...]
        let prefix = Array("out | ".utf8)
        guard rest.starts(with: prefix) else { return }
        let text = Substring(decoding: rest.dropFirst(prefix.count), as: UTF8.self)
        guard let name = BuildStages.marker(in: text) else { return }
        if let i = stages.indices.last, stages[i].endedAt == nil { stages[i].endedAt = time }
        stages.append(Stage(name: name, startedAt: time, endedAt: nil))
        if stages.count > Self.maxStages {
            stages.removeFirst()
            omitted += 1
        }
    }

    /// `== attempt N ==`, the header `BuildLogFollower` puts before each attempt's lines.
    static func attemptHeader(_ line: ArraySlice<UInt8>) -> Int? {
        let text = String(decoding: line, as: UTF8.self)
        guard text.hasPrefix("== attempt "), text.hasSuffix(" =="), text.utf8.count <= 32 else { return nil }
        return Int(text.dropFirst("== attempt ".count).dropLast(" ==".count)).flatMap { $0 > 0 ? $0 : nil }
    }

    private static let timestampStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    /// The log's line time (ISO 8601 with milliseconds, UTC) as seconds since the Unix epoch.
    static func timestamp(_ bytes: ArraySlice<UInt8>) -> Double? {
        guard (20...32).contains(bytes.count) else { return nil }
        return (try? timestampStyle.parse(String(decoding: bytes, as: UTF8.self)))?.timeIntervalSince1970
    }
}
