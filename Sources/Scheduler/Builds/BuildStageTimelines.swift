import Foundation
import Synchronization

/// The stage timelines of the builds someone is looking at, each brought up to date from its log
/// on request: per job a `BuildLogFollower` (its read offset) and the timeline so far, so a
/// running build's log is read once in all, a piece per request, not again from its start.
///
/// Bounded: at most `capacity` jobs (the least recently asked is forgotten and would be read
/// again from the start), and at most `maxBytesPerRequest` of log read per request (a long log is
/// caught up over several requests; the answer says it is not `complete` yet).
public final class BuildStageTimelines: Sendable {
    /// What a request gets.
    public struct Snapshot: Sendable, Equatable {
        public var timeline: BuildStageTimeline
        /// The job's state when the log was last read.
        public var state: JobState
        /// False when the log was not read to its current end within this request's budget.
        public var complete: Bool
    }

    let queue: JobQueue
    let logRoot: String
    public let capacity: Int
    public let maxBytesPerRequest: Int

    private final class Tracked: Sendable {
        let follower: BuildLogFollower
        let timeline = Mutex(BuildStageTimeline())
        init(_ follower: BuildLogFollower) { self.follower = follower }
    }

    private struct Table {
        var entries: [Int64: Tracked] = [:]
        var lastAsked: [Int64: UInt64] = [:]
        var clock: UInt64 = 0
    }

    private let table = Mutex(Table())

    public init(queue: JobQueue, logRoot: String, capacity: Int = 64, maxBytesPerRequest: Int = 4 << 20) {
        self.queue = queue
        self.logRoot = logRoot
        self.capacity = max(1, capacity)
        self.maxBytesPerRequest = max(4096, maxBytesPerRequest)
    }

    /// Jobs currently tracked (for tests and metrics).
    var trackedCount: Int { table.withLock { $0.entries.count } }

    /// Job `jobID`'s timeline, read up to the end of its log (or this request's budget). Throws
    /// what `JobQueue.get` throws for an unknown job.
    public func timeline(jobID: Int64) throws -> Snapshot {
        let state = try queue.get(jobID).state
        let tracked = table.withLock { t in
            t.clock += 1
            t.lastAsked[jobID] = t.clock
            if let known = t.entries[jobID] { return known }
            let made = Tracked(BuildLogFollower(queue: queue, logRoot: logRoot, jobID: jobID))
            t.entries[jobID] = made
            if t.entries.count > capacity, let oldest = t.lastAsked.min(by: { $0.value < $1.value })?.key {
                t.entries[oldest] = nil
                t.lastAsked[oldest] = nil
            }
            return made
        }
        // One reader per job at a time (the follower's offset and the timeline move together).
        return try tracked.timeline.withLock { timeline in
            var read = 0
            while read < maxBytesPerRequest {
                switch try tracked.follower.next(maxBytes: min(256 * 1024, maxBytesPerRequest - read)) {
                case .lines(let bytes):
                    timeline.feed(bytes)
                    read += bytes.count
                case .idle:
                    return Snapshot(timeline: timeline, state: state, complete: true)
                case .end(let final):
                    timeline.finish()
                    return Snapshot(timeline: timeline, state: final, complete: true)
                }
            }
            return Snapshot(timeline: timeline, state: state, complete: false)
        }
    }
}
