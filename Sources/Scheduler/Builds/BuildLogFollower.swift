import Foundation
import Synchronization

/// Reads a job's build logs (`<logRoot>/<job>/attempt-<n>.log`, every attempt in order) while they
/// grow, a bounded piece at a time, for streaming them to a client: whole lines only (a line longer
/// than the piece is cut), an `== attempt N ==` line before each attempt when there is more than one,
/// and the end once the job is final and everything written has been read. The logs are what
/// `BuildLog` wrote, so secrets are already `***`. One reader per follower; any thread.
public final class BuildLogFollower: Sendable {
    /// What `next` found.
    public enum Piece: Sendable, Equatable {
        /// Complete lines (each ending in a newline).
        case lines([UInt8])
        /// Nothing new yet; the job is still going.
        case idle
        /// The job is final and its logs are read to the end.
        case end(JobState)
    }

    let queue: JobQueue
    let directory: String
    let jobID: Int64
    private struct Position {
        var attempt = 0
        var offset: UInt64 = 0
        var headed = Set<Int>()
        var pending: [UInt8] = []
    }
    private let position = Mutex(Position())

    public init(queue: JobQueue, logRoot: String, jobID: Int64) {
        self.queue = queue
        directory = logRoot + "/\(jobID)"
        self.jobID = jobID
    }

    /// The next lines, at most `maxBytes` (plus an attempt header).
    public func next(maxBytes: Int = 32 * 1024) throws -> Piece {
        // The state before the files: a final state read here means the files are complete.
        let state = try queue.get(jobID).state
        return position.withLock { p in
            let attempts = Self.attempts(in: directory)
            if p.attempt == 0, let first = attempts.first { p.attempt = first }
            while p.attempt > 0 {
                var out: [UInt8] = []
                if attempts.count > 1 || p.attempt > 1, p.headed.insert(p.attempt).inserted {
                    out += Array("== attempt \(p.attempt) ==\n".utf8)
                }
                let read = Self.read(directory + "/attempt-\(p.attempt).log", from: p.offset, max: maxBytes)
                p.offset += UInt64(read.count)
                p.pending += read
                if let lastNewline = p.pending.lastIndex(of: 0x0A) {
                    out += p.pending[...lastNewline]
                    p.pending.removeFirst(lastNewline + 1)
                } else if p.pending.count >= maxBytes {
                    out += p.pending + [0x0A]
                    p.pending.removeAll()
                }
                if !out.isEmpty { return .lines(out) }
                // This attempt is read to its end for now: a later attempt means it is complete.
                if let later = attempts.first(where: { $0 > p.attempt }) {
                    if !p.pending.isEmpty {
                        let rest = p.pending + [0x0A]
                        p.pending.removeAll()
                        return .lines(rest)
                    }
                    p.attempt = later
                    p.offset = 0
                    continue
                }
                break
            }
            guard state.isFinal else { return .idle }
            if !p.pending.isEmpty {
                let rest = p.pending + [0x0A]
                p.pending.removeAll()
                return .lines(rest)
            }
            return .end(state)
        }
    }

    static func attempts(in directory: String) -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name in
            guard name.hasPrefix("attempt-"), name.hasSuffix(".log") else { return nil }
            return Int(name.dropFirst("attempt-".count).dropLast(".log".count))
        }.sorted()
    }

    static func read(_ path: String, from offset: UInt64, max: Int) -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }
        guard (try? handle.seek(toOffset: offset)) != nil else { return [] }
        return (try? handle.read(upToCount: max)).map { Array($0) } ?? []
    }

    /// The last `lines` lines of the job's latest attempt log (at most 64 KiB read).
    public static func tail(logRoot: String, jobID: Int64, lines: Int) -> [String] {
        let directory = logRoot + "/\(jobID)"
        guard let attempt = attempts(in: directory).last else { return [] }
        let path = directory + "/attempt-\(attempt).log"
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? UInt64) ?? 0
        let start = size > 65_536 ? size - 65_536 : 0
        var text = String(decoding: read(path, from: start, max: 65_536), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true)
        if start > 0, !text.isEmpty { text.removeFirst() }  // a partial first line
        return text.suffix(lines).map(String.init)
    }
}
