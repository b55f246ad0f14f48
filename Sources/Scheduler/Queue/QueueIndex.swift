/// The in-memory index of queued jobs that makes a scheduling decision O(1) amortized however many
/// jobs are queued.
///
/// A score is `static part + age + fair-share part`:
/// - the static part (kind, hint, cost, attempts, and the app's popularity as cached when the job was
///   indexed) is fixed while the job waits;
/// - age grows at the same rate for every job, so `static − agePerSecond × availableAt` orders jobs the
///   same way at any time;
/// - the fair-share part is the same for every job of one fair-share group (the owner when known, else
///   the app) and changes only when that group's active count changes.
///
/// So each group keeps one heap per kind, keyed by the time-free key; and per kind a heap of group
/// tops (`key + fair-share part`) finds the best group at once. A group's entries in the tops heap are
/// versioned: any change to the group pushes a fresh entry and the stale ones are dropped when they
/// reach the top. Jobs still backing off wait in a heap by `availableAt` and join when due. Removing a
/// job is lazy too: a heap entry counts only while the job is in `entries` with the same sequence.
struct QueueIndex: Sendable {
    struct Entry: Sendable {
        var id: Int64
        var app: String
        var owner: String
        var group: Int
        var kind: JobKind
        var hint: PriorityHint
        var buildType: String
        var dependencyHash: String?
        var expectedSeconds: Double
        var previousAttempts: Int
        var popularity: Double
        var staticScore: Double
        var queuedAt: Double
        var availableAt: Double
        var sequence: UInt64
        var isReady: Bool
    }

    /// A job in its group's heap, best first: higher key, earlier queue time, lower id.
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

    /// A group's best job of one kind, with the group's fair-share part added.
    struct Top: Comparable, Sendable {
        var key: Double
        var queuedAt: Double
        var id: Int64
        var group: Int
        var version: UInt64
        static func < (a: Top, b: Top) -> Bool {
            if a.key != b.key { return a.key > b.key }
            if a.queuedAt != b.queuedAt { return a.queuedAt < b.queuedAt }
            return a.id < b.id
        }
        static func == (a: Top, b: Top) -> Bool { a.id == b.id && a.version == b.version && a.group == b.group }
    }

    struct Delayed: Comparable, Sendable {
        var availableAt: Double
        var id: Int64
        var sequence: UInt64
        static func < (a: Delayed, b: Delayed) -> Bool {
            a.availableAt != b.availableAt ? a.availableAt < b.availableAt : a.id < b.id
        }
    }

    /// A fair-share group: jobs of one owner (or, without an owner, of one app).
    struct Group: Sendable {
        var key: String
        /// Queued (ready or delayed) plus running jobs.
        var active = 0
        var heaps = [PriorityHeap<Ranked>](repeating: PriorityHeap(), count: JobKind.allCases.count)
        var live = [Int](repeating: 0, count: JobKind.allCases.count)
        var version = [UInt64](repeating: 0, count: JobKind.allCases.count)
    }

    struct Running: Sendable {
        var group: Int
        var kind: JobKind
    }

    /// The winner of a decision.
    struct Choice: Sendable {
        var entry: Entry
        var score: Double
    }

    let scorer: PriorityScorer
    let popularityProvider: @Sendable (String) -> Double
    private(set) var entries: [Int64: Entry] = [:]
    private(set) var running: [Int64: Running] = [:]
    private var groups: [Group] = []
    private var groupSlot: [String: Int] = [:]
    private var tops = [PriorityHeap<Top>](repeating: PriorityHeap(), count: JobKind.allCases.count)
    private var delayed = PriorityHeap<Delayed>()
    /// Popularity per app, read once from the provider (refreshed by rebuilding the index).
    private var popularity: [String: Double] = [:]
    private(set) var readyByKind: [JobKind: Int] = [:]
    /// Ready jobs by dependency hash: which queued jobs would run warm on a slot that has the hash.
    private var readyByHash: [String: Set<Int64>] = [:]
    private(set) var delayedCount = 0
    private var nextSequence: UInt64 = 0
    private(set) var highestID: Int64 = 0

    init(scorer: PriorityScorer, popularity: @escaping @Sendable (String) -> Double) {
        self.scorer = scorer
        self.popularityProvider = popularity
    }

    var queuedCount: Int { entries.count }
    var readyCount: Int { entries.count - delayedCount }
    var groupCount: Int { groups.count }

    /// The fair-share group of a job: its owner when known, else its app.
    static func groupKey(app: String, owner: String) -> String { owner.isEmpty ? "app:" + app : "owner:" + owner }

    /// Other queued or running jobs in the job's fair-share group.
    func othersActive(app: String, owner: String) -> Int {
        guard let slot = groupSlot[Self.groupKey(app: app, owner: owner)] else { return 0 }
        return max(0, groups[slot].active - 1)
    }

    /// The app's popularity as the index uses it.
    mutating func cachedPopularity(_ app: String) -> Double {
        if let known = popularity[app] { return known }
        let value = PriorityScorer.popularityValue(popularityProvider(app))
        popularity[app] = value
        return value
    }

    // MARK: - Changes

    mutating func insertQueued(
        id: Int64, app: String, owner: String, kind: JobKind, hint: PriorityHint,
        buildType: String, dependencyHash: String?, expectedSeconds: Double, previousAttempts: Int,
        queuedAt: Double, availableAt: Double, now: Double
    ) {
        if entries[id] != nil { return }
        highestID = max(highestID, id)
        let group = groupIndex(Self.groupKey(app: app, owner: owner))
        if let wasRunning = running.removeValue(forKey: id) { groups[wasRunning.group].active -= 1 }
        nextSequence &+= 1
        let appPopularity = cachedPopularity(app)
        let entry = Entry(
            id: id, app: app, owner: owner, group: group, kind: kind, hint: hint, buildType: buildType,
            dependencyHash: dependencyHash, expectedSeconds: expectedSeconds, previousAttempts: previousAttempts,
            popularity: appPopularity,
            staticScore: scorer.staticPart(
                kind: kind, hint: hint, expectedSeconds: expectedSeconds,
                previousAttempts: previousAttempts, popularity: appPopularity),
            queuedAt: queuedAt, availableAt: availableAt, sequence: nextSequence, isReady: false)
        entries[id] = entry
        groups[group].active += 1
        if availableAt <= now {
            makeReady(entry)
        } else {
            delayedCount += 1
            delayed.push(Delayed(availableAt: availableAt, id: id, sequence: entry.sequence))
        }
        refreshTops(group: group)
    }

    /// Forgets a queued job (cancelled, or found gone from the database).
    @discardableResult
    mutating func removeQueued(id: Int64) -> Entry? {
        guard let entry = take(id) else { return nil }
        groups[entry.group].active -= 1
        refreshTops(group: entry.group)
        return entry
    }

    /// Records a job as running (it still counts for fair share until it ends).
    mutating func markRunning(id: Int64, app: String, owner: String, kind: JobKind) {
        if let entry = take(id) {
            running[id] = Running(group: entry.group, kind: entry.kind)
            refreshTop(group: entry.group, kind: entry.kind)
            return
        }
        guard running[id] == nil else { return }
        highestID = max(highestID, id)
        let group = groupIndex(Self.groupKey(app: app, owner: owner))
        running[id] = Running(group: group, kind: kind)
        groups[group].active += 1
        refreshTops(group: group)
    }

    mutating func endRunning(id: Int64) {
        guard let job = running.removeValue(forKey: id) else { return }
        groups[job.group].active -= 1
        refreshTops(group: job.group)
    }

    /// Moves jobs whose backoff has passed into their groups.
    mutating func promoteDue(now: Double) {
        while let top = delayed.first, top.availableAt <= now {
            delayed.popFirst()
            guard let entry = entries[top.id], entry.sequence == top.sequence, !entry.isReady else { continue }
            delayedCount -= 1
            makeReady(entry)
            refreshTop(group: entry.group, kind: entry.kind)
        }
    }

    // MARK: - Decision

    /// The best ready job, optionally only among `kinds`: one look at the top of each kind's heap.
    mutating func best(now: Double, kinds: Set<JobKind>?) -> Choice? {
        promoteDue(now: now)
        var best: Top?
        for kind in JobKind.allCases {
            if let kinds, !kinds.contains(kind) { continue }
            let k = Self.slot(kind)
            while let top = tops[k].first {
                if groups[top.group].version[k] == top.version {
                    if best == nil || top < best! { best = top }
                    break
                }
                tops[k].popFirst()
            }
        }
        guard let best, let entry = entries[best.id] else { return nil }
        return Choice(entry: entry, score: best.key + scorer.agePerSecond * now)
    }

    /// The best ready job (optionally only among `kinds`) whose dependency hash is one of `hashes`, and
    /// its score; nil when none is queued. Looks only at jobs with those hashes (at most a slot's cache).
    func bestWithHash(in hashes: [String], now: Double, kinds: Set<JobKind>?) -> Choice? {
        var found: Choice?
        for hash in hashes {
            for id in readyByHash[hash] ?? [] {
                guard let entry = entries[id], entry.isReady else { continue }
                if let kinds, !kinds.contains(entry.kind) { continue }
                let score =
                    entry.staticScore + scorer.agePerSecond * (now - entry.availableAt)
                    + scorer.fairSharePart(othersActive: groups[entry.group].active - 1)
                if let current = found {
                    let better =
                        score != current.score
                        ? score > current.score
                        : entry.queuedAt != current.entry.queuedAt
                            ? entry.queuedAt < current.entry.queuedAt
                            : entry.id < current.entry.id
                    if !better { continue }
                }
                found = Choice(entry: entry, score: score)
            }
        }
        return found
    }

    /// Oldest `availableAt` among ready jobs (O(n); for autoscaler snapshots, not per decision).
    func oldestReadyAvailableAt() -> Double? {
        entries.values.lazy.filter(\.isReady).map(\.availableAt).min()
    }

    // MARK: - Internals

    private static func slot(_ kind: JobKind) -> Int {
        switch kind {
        case .user_push: 0
        case .manual: 1
        case .retry: 2
        case .cache_warm: 3
        }
    }

    private mutating func groupIndex(_ key: String) -> Int {
        if let slot = groupSlot[key] { return slot }
        groups.append(Group(key: key))
        groupSlot[key] = groups.count - 1
        return groups.count - 1
    }

    /// Removes a queued entry without touching the active count.
    private mutating func take(_ id: Int64) -> Entry? {
        guard let entry = entries.removeValue(forKey: id) else { return nil }
        if entry.isReady {
            if let hash = entry.dependencyHash {
                readyByHash[hash]?.remove(id)
                if readyByHash[hash]?.isEmpty == true { readyByHash[hash] = nil }
            }
            readyByKind[entry.kind, default: 1] -= 1
            groups[entry.group].live[Self.slot(entry.kind)] -= 1
        } else {
            delayedCount -= 1
        }
        return entry
    }

    private mutating func makeReady(_ entry: Entry) {
        var entry = entry
        entry.isReady = true
        entries[entry.id] = entry
        if let hash = entry.dependencyHash { readyByHash[hash, default: []].insert(entry.id) }
        readyByKind[entry.kind, default: 0] += 1
        let k = Self.slot(entry.kind)
        groups[entry.group].live[k] += 1
        groups[entry.group].heaps[k].push(
            Ranked(
                key: entry.staticScore - scorer.agePerSecond * entry.availableAt,
                queuedAt: entry.queuedAt, id: entry.id, sequence: entry.sequence))
    }

    /// The group's fair-share count changed: every kind's top gets a fresh entry.
    private mutating func refreshTops(group: Int) {
        for kind in JobKind.allCases { refreshTop(group: group, kind: kind) }
    }

    /// Re-publishes the group's best job of `kind` (or nothing) in that kind's tops heap.
    private mutating func refreshTop(group: Int, kind: JobKind) {
        let k = Self.slot(kind)
        groups[group].version[k] &+= 1
        guard groups[group].live[k] > 0 else {
            groups[group].heaps[k] = PriorityHeap()
            return
        }
        while let top = groups[group].heaps[k].first {
            if let entry = entries[top.id], entry.sequence == top.sequence, entry.isReady {
                let fair = scorer.fairSharePart(othersActive: groups[group].active - 1)
                tops[k].push(
                    Top(
                        key: top.key + fair, queuedAt: top.queuedAt, id: top.id, group: group,
                        version: groups[group].version[k]))
                break
            }
            groups[group].heaps[k].popFirst()
        }
        if tops[k].count > 4 * groups.count + 4096 { compactTops(kind: kind) }
    }

    /// Drops stale entries from a kind's tops heap (they pile up when groups change often).
    private mutating func compactTops(kind: JobKind) {
        let k = Self.slot(kind)
        var fresh = PriorityHeap<Top>()
        for top in tops[k].storage where groups[top.group].version[k] == top.version { fresh.push(top) }
        tops[k] = fresh
    }
}
