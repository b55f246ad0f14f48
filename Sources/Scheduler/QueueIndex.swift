/// The in-memory index of queued jobs that makes a scheduling decision cheap with many jobs queued.
///
/// A score is `static part + age + group part`. Age grows at the same rate for every job, so within a
/// group (same app, owner and kind: same popularity and fair share) the order never changes with time:
/// each group keeps a heap keyed by `static part − agePerSecond × availableAt`. A decision looks only at
/// the top of each group: O(groups), not O(jobs). Jobs still backing off wait in a separate heap by
/// `availableAt` and join their group when due. Removal is lazy: a heap entry counts only while the job
/// is still in `entries` with the same sequence number.
struct QueueIndex: Sendable {
    struct GroupKey: Hashable, Sendable {
        var app: String
        var owner: String
        var kind: JobKind
    }

    struct Entry: Sendable {
        var id: Int64
        var group: GroupKey
        var hint: PriorityHint
        var buildType: String
        var dependencyHash: String?
        var expectedSeconds: Double
        var previousAttempts: Int
        var staticScore: Double
        var queuedAt: Double
        var availableAt: Double
        var sequence: UInt64
        var isReady: Bool
    }

    /// Ordered best first: higher key, then earlier queue time, then lower id.
    struct Ranked: Comparable, Sendable {
        var key: Double
        var queuedAt: Double
        var id: Int64
        var sequence: UInt64
        static func < (a: Ranked, b: Ranked) -> Bool {
            if a.key != b.key { return a.key > b.key }
            if a.queuedAt != b.queuedAt { return a.queuedAt < b.queuedAt }
            return a.id < b.id
        }
        static func == (a: Ranked, b: Ranked) -> Bool { a.id == b.id && a.sequence == b.sequence }
    }

    struct Delayed: Comparable, Sendable {
        var availableAt: Double
        var id: Int64
        var sequence: UInt64
        static func < (a: Delayed, b: Delayed) -> Bool {
            a.availableAt != b.availableAt ? a.availableAt < b.availableAt : a.id < b.id
        }
    }

    struct Group: Sendable {
        var key: GroupKey
        var heap = PriorityHeap<Ranked>()
        var live = 0
    }

    struct Running: Sendable {
        var app: String
        var owner: String
        var kind: JobKind
    }

    /// The winner of a decision.
    struct Choice: Sendable {
        var entry: Entry
        var score: Double
    }

    var scorer: PriorityScorer
    private(set) var entries: [Int64: Entry] = [:]
    private(set) var running: [Int64: Running] = [:]
    private var groups: [Group] = []
    private var groupSlot: [GroupKey: Int] = [:]
    private var delayed = PriorityHeap<Delayed>()
    private(set) var appActive: [String: Int] = [:]
    private(set) var ownerActive: [String: Int] = [:]
    private(set) var readyByKind: [JobKind: Int] = [:]
    private(set) var delayedCount = 0
    private var nextSequence: UInt64 = 0

    init(scorer: PriorityScorer) { self.scorer = scorer }

    var queuedCount: Int { entries.count }
    var readyCount: Int { entries.count - delayedCount }
    var groupCount: Int { groups.count }

    /// Other queued or running jobs of the same app or owner (the larger count), excluding one job.
    func othersActive(app: String, owner: String) -> Int {
        let byApp = appActive[app, default: 0]
        let byOwner = owner.isEmpty ? 0 : ownerActive[owner, default: 0]
        return max(0, max(byApp, byOwner) - 1)
    }

    // MARK: - Changes

    mutating func insertQueued(id: Int64, app: String, owner: String, kind: JobKind, hint: PriorityHint,
                               buildType: String, dependencyHash: String?, expectedSeconds: Double, previousAttempts: Int,
                               queuedAt: Double, availableAt: Double, now: Double) {
        if entries[id] != nil { return }
        if running.removeValue(forKey: id) != nil { adjustActive(app: app, owner: owner, by: -1) }
        nextSequence &+= 1
        let entry = Entry(
            id: id, group: GroupKey(app: app, owner: owner, kind: kind), hint: hint, buildType: buildType,
            dependencyHash: dependencyHash, expectedSeconds: expectedSeconds, previousAttempts: previousAttempts,
            staticScore: scorer.staticPart(kind: kind, hint: hint, expectedSeconds: expectedSeconds,
                                           previousAttempts: previousAttempts),
            queuedAt: queuedAt, availableAt: availableAt, sequence: nextSequence, isReady: false)
        entries[id] = entry
        adjustActive(app: app, owner: owner, by: 1)
        if availableAt <= now {
            makeReady(entry)
        } else {
            delayedCount += 1
            delayed.push(Delayed(availableAt: availableAt, id: id, sequence: entry.sequence))
        }
    }

    /// Forgets a queued job (claimed, cancelled, or found gone from the database).
    @discardableResult
    mutating func removeQueued(id: Int64) -> Entry? {
        guard let entry = entries.removeValue(forKey: id) else { return nil }
        adjustActive(app: entry.group.app, owner: entry.group.owner, by: -1)
        if entry.isReady {
            readyByKind[entry.group.kind, default: 1] -= 1
            if let slot = groupSlot[entry.group] {
                groups[slot].live -= 1
                if groups[slot].live == 0 { removeGroup(at: slot) }
            }
        } else {
            delayedCount -= 1
        }
        return entry
    }

    /// Records a job as running (it still counts for fair share until it ends).
    mutating func markRunning(id: Int64, app: String, owner: String, kind: JobKind) {
        removeQueued(id: id)
        guard running[id] == nil else { return }
        running[id] = Running(app: app, owner: owner, kind: kind)
        adjustActive(app: app, owner: owner, by: 1)
    }

    mutating func endRunning(id: Int64) {
        guard let job = running.removeValue(forKey: id) else { return }
        adjustActive(app: job.app, owner: job.owner, by: -1)
    }

    /// Moves jobs whose backoff has passed into their groups.
    mutating func promoteDue(now: Double) {
        while let top = delayed.first, top.availableAt <= now {
            delayed.popFirst()
            guard let entry = entries[top.id], entry.sequence == top.sequence, !entry.isReady else { continue }
            delayedCount -= 1
            makeReady(entry)
        }
    }

    // MARK: - Decision

    /// The best ready job, optionally only among `kinds`. O(groups).
    mutating func best(now: Double, kinds: Set<JobKind>?, popularity: (String) -> Double) -> Choice? {
        promoteDue(now: now)
        let ageNow = scorer.agePerSecond * now
        var bestRank: Ranked?
        var bestScore = -Double.infinity
        var bestGroup = -1
        var index = 0
        while index < groups.count {
            if let kinds, !kinds.contains(groups[index].key.kind) { index += 1; continue }
            guard let top = validTop(group: index) else { continue }  // group removed; same index is next
            let key = groups[index].key
            let score = top.key + ageNow
                + scorer.groupPart(popularity: popularity(key.app), othersActive: othersActive(app: key.app, owner: key.owner))
            if score > bestScore || (score == bestScore && bestRank.map { top.queuedAt < $0.queuedAt || (top.queuedAt == $0.queuedAt && top.id < $0.id) } ?? true) {
                bestScore = score
                bestRank = top
                bestGroup = index
            }
            index += 1
        }
        guard bestGroup >= 0, let rank = bestRank, let entry = entries[rank.id] else { return nil }
        return Choice(entry: entry, score: bestScore)
    }

    /// The score a queued job would have now (for checks; `explain` gives the parts).
    func currentScore(id: Int64, now: Double, popularity: (String) -> Double) -> Double? {
        guard let entry = entries[id] else { return nil }
        return entry.staticScore + scorer.agePerSecond * (now - entry.availableAt)
            + scorer.groupPart(popularity: popularity(entry.group.app),
                               othersActive: othersActive(app: entry.group.app, owner: entry.group.owner))
    }

    /// Oldest `availableAt` among ready jobs (O(n); for autoscaler snapshots, not per decision).
    func oldestReadyAvailableAt() -> Double? {
        entries.values.lazy.filter(\.isReady).map(\.availableAt).min()
    }

    // MARK: - Internals

    private mutating func makeReady(_ entry: Entry) {
        var entry = entry
        entry.isReady = true
        entries[entry.id] = entry
        readyByKind[entry.group.kind, default: 0] += 1
        let slot: Int
        if let existing = groupSlot[entry.group] {
            slot = existing
        } else {
            slot = groups.count
            groups.append(Group(key: entry.group))
            groupSlot[entry.group] = slot
        }
        groups[slot].live += 1
        groups[slot].heap.push(Ranked(key: entry.staticScore - scorer.agePerSecond * entry.availableAt,
                                      queuedAt: entry.queuedAt, id: entry.id, sequence: entry.sequence))
    }

    /// The top of a group after dropping stale entries; removes the group and returns nil when empty.
    private mutating func validTop(group index: Int) -> Ranked? {
        while let top = groups[index].heap.first {
            if let entry = entries[top.id], entry.sequence == top.sequence, entry.isReady { return top }
            groups[index].heap.popFirst()
        }
        removeGroup(at: index)
        return nil
    }

    private mutating func removeGroup(at index: Int) {
        let key = groups[index].key
        groupSlot[key] = nil
        let last = groups.count - 1
        if index != last {
            groups.swapAt(index, last)
            groupSlot[groups[index].key] = index
        }
        groups.removeLast()
    }

    private mutating func adjustActive(app: String, owner: String, by delta: Int) {
        appActive[app, default: 0] += delta
        if appActive[app]! <= 0 { appActive[app] = nil }
        if !owner.isEmpty {
            ownerActive[owner, default: 0] += delta
            if ownerActive[owner]! <= 0 { ownerActive[owner] = nil }
        }
    }
}
