import Foundation
import Testing
import WharfTestSupport

@testable import Scheduler

@Suite struct AdaptivePolicyTests {
    /// A pool of slots in the given phases, all requested at `t0`.
    func slots(_ phases: [Slot.Phase], idleSince: Date = t0) -> [Slot] {
        phases.enumerated().map { i, phase in
            var slot = Slot(id: "s\(i)", requestedAt: t0, readyAt: t0, tools: [])
            slot.phase = phase
            slot.idleSince = phase == .idle ? idleSince : nil
            return slot
        }
    }

    func build(_ id: Int64, kind: JobKind = .user_push, startedAt: Date, expected: Double = 60, app: String = "shop") -> RunningBuild {
        RunningBuild(jobID: id, app: app, buildType: "javascript_web", kind: kind, startedAt: startedAt, expectedSeconds: expected)
    }

    func input(
        at now: Date, ready: [JobKind: Int] = [:], delayed: Int = 0, running: [RunningBuild] = [],
        slots: [Slot], limits: SlotLimits = .default
    ) -> AutoscalerInput {
        let total = ready.values.reduce(0, +)
        return AutoscalerInput(
            now: now, queue: QueueSnapshot(ready: total, delayed: delayed, readyByKind: ready, running: running.count),
            running: running, slots: slots, limits: limits, provisioningDelay: 45)
    }

    static let noHeadroom = AdaptiveAutoscaler.Settings(
        burstIdleTimeout: 300, coreIdleTimeout: 3600, quietPeriod: 0, padFactor: 0,
        coreFactor: 1, coreTimeConstant: 3600)
    /// 00:00 (UTC) of t0's day (t0 is 08:00).
    static let midnight = t0 - 8 * 3600

    // MARK: - Burst

    @Test func aBurstGetsAsManySlotsAsNothingElseWillServeInTime() {
        var policy = AdaptiveAutoscaler(settings: Self.noHeadroom)
        // One slot busy with a build that just started (60 s expected, longer than the 45 s provisioning),
        // six user pushes queued: six new slots, in one decision.
        let first = policy.decide(input(at: t0, ready: [.user_push: 6], running: [build(1, startedAt: t0)], slots: slots([.busy])))
        #expect(first.desiredSlots == 7)
        #expect(first.reason.contains("6 user builds queued"))
        // Ten seconds later the six are provisioning: nothing more is asked for.
        let second = policy.decide(
            input(
                at: t0 + 10, ready: [.user_push: 6], running: [build(1, startedAt: t0)],
                slots: slots([.busy] + Array(repeating: .provisioning, count: 6))))
        #expect(second.desiredSlots == 7)
    }

    @Test func aBuildAboutToEndCoversAQueuedOneInsteadOfANewSlot() {
        var policy = AdaptiveAutoscaler(settings: Self.noHeadroom)
        // Started 50 s ago, 60 s expected: its slot is free in ~10 s, sooner than a new slot (45 s).
        let soon = policy.decide(input(at: t0 + 50, ready: [.user_push: 1], running: [build(1, startedAt: t0)], slots: slots([.busy])))
        #expect(soon.desiredSlots == 1)
        // Started just now: a new slot is quicker.
        var fresh = AdaptiveAutoscaler(settings: Self.noHeadroom)
        let late = fresh.decide(input(at: t0, ready: [.user_push: 1], running: [build(1, startedAt: t0)], slots: slots([.busy])))
        #expect(late.desiredSlots == 2)
    }

    @Test func aBuildPastItsEstimateIsNotCountedOnToEndSoon() {
        // 60 s expected, 100 s in: late, expected to run 75 s more (longer than a new slot's 45 s).
        var policy = AdaptiveAutoscaler(settings: Self.noHeadroom)
        let late = policy.decide(input(at: t0 + 100, ready: [.user_push: 1], running: [build(1, startedAt: t0)], slots: slots([.busy])))
        #expect(late.desiredSlots == 2)
        #expect(DurationEstimator().remaining(app: "a", buildType: "t", elapsed: 100, fallback: 60) == 75)
        // Just at its estimate, three quarters of its age (45 s) is no later than a new slot: wait for it.
        #expect(DurationEstimator().remaining(app: "a", buildType: "t", elapsed: 60, fallback: 60) == 45)
        #expect(DurationEstimator().remaining(app: "a", buildType: "t", elapsed: 55, fallback: 60) == 12)
    }

    @Test func aColdBuildIsExpectedToRunLongerByItsTypesLearnedColdPenalty() {
        var estimator = DurationEstimator(alpha: 1)
        estimator.record(app: "shop", buildType: "flutter_web", seconds: 100)
        #expect(estimator.coldPenalty(buildType: "flutter_web") == 0)
        // A cold attempt of 160 s teaches the type's penalty (60 s), not the app's warm time.
        estimator.record(app: "shop", buildType: "flutter_web", seconds: 160, cold: true)
        #expect(estimator.expected(app: "shop", buildType: "flutter_web", fallback: 1) == 100)
        #expect(estimator.expected(app: "shop", buildType: "flutter_web", fallback: 1, cold: true) == 160)
        // Another app of the type: its warm figure plus the type's penalty.
        estimator.record(app: "blog", buildType: "flutter_web", seconds: 40)
        #expect(estimator.expected(app: "blog", buildType: "flutter_web", fallback: 1, cold: true) == 100)
        // 90 s into a cold build of "shop": 70 s to go, not 20 (a warm one would be nearly done).
        #expect(estimator.remaining(app: "shop", buildType: "flutter_web", elapsed: 90, fallback: 1, cold: true) == 70)
        #expect(estimator.remaining(app: "shop", buildType: "flutter_web", elapsed: 90, fallback: 1) == 20)
        // A cold attempt faster than the warm estimate teaches no negative penalty.
        var fresh = DurationEstimator(alpha: 1)
        fresh.record(app: "a", buildType: "t", seconds: 100)
        fresh.record(app: "a", buildType: "t", seconds: 50, cold: true)
        #expect(fresh.coldPenalty(buildType: "t") == 0)
    }

    @Test func aColdRunningBuildIsNotCountedOnToFreeItsSlotSoon() {
        // Learn: a warm javascript build of "shop" takes 60 s, a cold one 120 s.
        var policy = AdaptiveAutoscaler(settings: Self.noHeadroom)
        _ = policy.decide(input(at: t0, running: [build(1, startedAt: t0)], slots: slots([.busy])))
        var cold = build(2, startedAt: t0 + 60)
        cold.cold = true
        _ = policy.decide(input(at: t0 + 60, running: [cold], slots: slots([.busy])))
        _ = policy.decide(input(at: t0 + 180, slots: slots([.idle])))
        #expect(policy.durations.coldPenalty(buildType: "javascript_web") > 0)
        // 50 s into a build: warm, it ends in ~12 s (covers a queued push); cold, it has over a minute left.
        var warmRun = policy
        let warm = warmRun.decide(
            input(
                at: t0 + 1050, ready: [.user_push: 1], running: [build(3, startedAt: t0 + 1000)],
                slots: slots([.busy])))
        #expect(warm.desiredSlots == 1)
        var coldRun = policy
        var third = build(3, startedAt: t0 + 1000)
        third.cold = true
        let scaled = coldRun.decide(input(at: t0 + 1050, ready: [.user_push: 1], running: [third], slots: slots([.busy])))
        #expect(scaled.desiredSlots == 2)
    }

    @Test func aBuildCoversQueuedWorkOnlyWhenItEndsWithinHalfTheProvisioningDelay() {
        // 60 s expected; 30 s in it has 30 s left: sooner than a new slot (45 s), but an estimate that
        // errs by a few seconds would make the push wait longer than a new slot: scale up.
        var policy = AdaptiveAutoscaler(settings: Self.noHeadroom)
        #expect(policy.settings.soonFreeShare == 0.5)
        let early = policy.decide(input(at: t0 + 30, ready: [.user_push: 1], running: [build(1, startedAt: t0)], slots: slots([.busy])))
        #expect(early.desiredSlots == 2)
        // 45 s in, 15 s left (within 22.5 s): wait for it.
        var later = AdaptiveAutoscaler(settings: Self.noHeadroom)
        let covered = later.decide(input(at: t0 + 45, ready: [.user_push: 1], running: [build(1, startedAt: t0)], slots: slots([.busy])))
        #expect(covered.desiredSlots == 1)
        // With the whole delay as the bound (the previous rule), 30 s left was enough.
        var settings = Self.noHeadroom
        settings.soonFreeShare = 1
        var whole = AdaptiveAutoscaler(settings: settings)
        #expect(whole.decide(input(at: t0 + 30, ready: [.user_push: 1], running: [build(1, startedAt: t0)], slots: slots([.busy]))).desiredSlots == 1)
    }

    @Test func expectedDurationsAreLearnedPerAppAndBuildType() {
        var policy = AdaptiveAutoscaler(settings: Self.noHeadroom)
        // "slow" builds take 300 s, though the catalog says 60.
        _ = policy.decide(input(at: t0, running: [build(1, startedAt: t0, app: "slow")], slots: slots([.busy])))
        _ = policy.decide(input(at: t0 + 300, slots: slots([.idle])))
        #expect(policy.durations.expected(app: "slow", buildType: "javascript_web", fallback: 60) == 300)
        #expect(policy.durations.expected(app: "other", buildType: "flutter_ios", fallback: 540) == 540)
        // So a "slow" build 50 s in is not about to end: the queued push gets a new slot.
        let decision = policy.decide(
            input(
                at: t0 + 1000, ready: [.user_push: 1],
                running: [build(2, startedAt: t0 + 950, app: "slow")], slots: slots([.busy])))
        #expect(decision.desiredSlots == 2)
    }

    // MARK: - Lull

    @Test func aLullReleasesSlotsAboveTheBusyAverageOneByOneThenTheCoreAfterItsLongerTimeout() {
        var policy = AdaptiveAutoscaler(settings: Self.noHeadroom)
        let busy = (1...5).map { build(Int64($0), startedAt: t0) }
        #expect(policy.decide(input(at: t0, running: busy, slots: slots(Array(repeating: .busy, count: 5)))).desiredSlots == 5)
        // The builds end at t0+60; the queue stays empty; each decision is applied.
        var active = 5
        var changes: [(Double, Int)] = []
        for t in stride(from: 60.0, through: 4000, by: 10) {
            let d = policy.decide(input(at: t0 + t, slots: slots(Array(repeating: .idle, count: active), idleSince: t0 + 60)))
            if d.desiredSlots != active {
                changes.append((t, d.desiredSlots))
                #expect(d.release.count == active - d.desiredSlots)
                active = d.desiredSlots
            }
        }
        // The busy average decays as 5·e^(−t/3600): its ceiling (the core) drops to 4 at t=810 (3.99),
        // to 3 at 1840 (2.999), to 2 at 3300 (1.999); a slot above the core, idle ≥ 300 s, goes at once.
        // The last two are core slots: both idle 3600 s at t=3660, released down to the minimum (1).
        #expect(changes.map(\.0) == [810, 1840, 3300, 3660])
        #expect(changes.map(\.1) == [4, 3, 2, 1])
    }

    @Test func aShortLullBetweenBurstsReleasesNothing() {
        var policy = AdaptiveAutoscaler(settings: Self.noHeadroom)
        _ = policy.decide(input(at: t0, running: (1...3).map { build(Int64($0), startedAt: t0) }, slots: slots([.busy, .busy, .busy])))
        for t in stride(from: 100.0, through: 690, by: 10) {
            #expect(policy.decide(input(at: t0 + t, slots: slots([.idle, .idle, .idle], idleSince: t0 + 100))).desiredSlots == 3)
        }
        // The next burst finds its three slots ready, with warm dependency caches.
        let again = policy.decide(input(at: t0 + 700, ready: [.user_push: 3], slots: slots([.idle, .idle, .idle], idleSince: t0 + 100)))
        #expect(again.desiredSlots == 3)
    }

    // MARK: - Warm batch

    @Test func theNightlyWarmBatchAsksOnlyForTheSlotsItNeedsToEndAnHourBefore7() {
        var policy = AdaptiveAutoscaler(settings: Self.noHeadroom)
        let two = Self.midnight + 2 * 3600
        // 60 warm builds at 02:00, nothing learned yet (300 s each): 18,000 s of work in the 4 h to 06:00
        // needs 2 slots; one is idle, so one more.
        let start = policy.decide(input(at: two, ready: [.cache_warm: 60], slots: slots([.idle])))
        #expect(start.desiredSlots == 2)
        #expect(start.reason.contains("need 2 slots"))
        // 600 of them would need 13: the cap (30% of 10) holds it to 3.
        var big = AdaptiveAutoscaler(settings: Self.noHeadroom)
        let capped = big.decide(input(at: two, ready: [.cache_warm: 600], slots: slots([.idle])))
        #expect(capped.desiredSlots == 3)
        #expect(capped.reason.contains("cap 3"))
        // Five warm builds at 02:00 fit on the slot there is: no scale-up at all.
        var small = AdaptiveAutoscaler(settings: Self.noHeadroom)
        #expect(small.decide(input(at: two, ready: [.cache_warm: 5], slots: slots([.idle]))).desiredSlots == 1)
        // Past 06:00 whatever is left may use the whole cap.
        var late = AdaptiveAutoscaler(settings: Self.noHeadroom)
        #expect(late.decide(input(at: Self.midnight + 6.5 * 3600, ready: [.cache_warm: 2], slots: slots([.idle]))).desiredSlots == 3)
    }

    @Test func aUserPushDuringTheWarmBatchGetsASlotOfItsOwn() {
        var policy = AdaptiveAutoscaler(settings: Self.noHeadroom)
        let two = Self.midnight + 2 * 3600
        let warm = (1...2).map { build(Int64($0), kind: .cache_warm, startedAt: two, expected: 300) }
        let busy = slots([.busy, .busy])
        // Two warm builds running with 20 queued: enough to finish by 06:00, so hold.
        #expect(policy.decide(input(at: two + 10, ready: [.cache_warm: 20], running: warm, slots: busy)).desiredSlots == 2)
        // A user push arrives: it gets a new slot at once.
        #expect(policy.decide(input(at: two + 20, ready: [.cache_warm: 20, .user_push: 1], running: warm, slots: busy)).desiredSlots == 3)
    }

    @Test func theSlotReleasedFirstIsTheOneWhoseCacheOtherSlotsAlsoHold() {
        func slot(_ id: String, _ hashes: [String], idleSince: Double) -> Slot {
            var s = Slot(id: id, requestedAt: t0, readyAt: t0, tools: [])
            s.idleSince = t0 + idleSince
            for h in hashes { s.dependencyCache.touch(h) }
            return s
        }
        let unique = slot("unique", ["a", "b"], idleSince: 0)
        let copy = slot("copy", ["c"], idleSince: 50)
        let holder = slot("holder", ["c", "d"], idleSince: 100)
        let order = AdaptiveAutoscaler.releaseOrder([unique, copy, holder], among: [unique, copy, holder])
        // "copy" holds nothing the others lack; "holder" has d alone; "unique" has a and b alone.
        #expect(order.map(\.id) == ["copy", "holder", "unique"])
    }

    @Test func thePoolReleasesThePreferredIdleSlotsFirst() throws {
        var pool = SlotPool(limits: .default)
        let provider = LocalProcessSlotProvider()
        try pool.scale(to: 3, now: t0, provider: provider)
        let ids = pool.slots.map(\.id)
        let result = try pool.scale(to: 1, now: t0 + 10, provider: provider, prefer: [ids[2], "gone"])
        // The preferred slot goes first; the rest of the shrink follows the pool's own order.
        #expect(result.released == [ids[2], ids[0]])
        #expect(pool.slots.map(\.id) == [ids[1]])
    }

    @Test func theDispatcherStartsNoMoreWarmBuildsThanTheCapSoAUserPushStartsAtOnce() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue2 = try makeQueue(dir)
        try queue2.enqueue(batch: (0..<20).map { request(dir, app: "warm\($0)", owner: "cache-warmer", kind: .cache_warm) }, now: t0)
        let provider = LocalProcessSlotProvider()
        let cap = WarmShareCap(share: 0.5)
        // Every busy slot runs a warm build here, so the gate counts busy slots (asked before each claim).
        var pool2 = SlotPool(limits: .default)
        try pool2.scale(to: 10, now: t0, provider: provider)
        let capped = try Dispatcher(queue: queue2, owner: "test").dispatch(
            pool: &pool2, now: t0,
            kinds: { p in
                cap.allowedKinds(runningWarm: p.busyCount, maxSlots: 10)
            })
        #expect(capped.count == 5)
        #expect(pool2.idleCount == 5)
        try queue2.enqueue(request(dir, app: "shop", kind: .user_push), now: t0 + 1)
        let user = try Dispatcher(queue: queue2, owner: "test").dispatch(
            pool: &pool2, now: t0 + 1,
            kinds: { p in
                cap.allowedKinds(runningWarm: p.busyCount, maxSlots: 10)
            })
        #expect(user.map(\.job.app) == ["shop"])
    }

    @Test func theWarmCapIsAShareOfTheMaximumAndNeverZero() {
        #expect(WarmShareCap(share: 0.5).limit(maxSlots: 10) == 5)
        #expect(WarmShareCap(share: 0.5).limit(maxSlots: 1) == 1)
        #expect(WarmShareCap(share: 2).limit(maxSlots: 4) == 4)
        #expect(WarmShareCap(share: 0.5).allowedKinds(runningWarm: 4, maxSlots: 10) == nil)
        #expect(WarmShareCap(share: 0.5).allowedKinds(runningWarm: 5, maxSlots: 10) == [.user_push, .manual, .retry])
    }

    // MARK: - Deterministic failures

    @Test func theSameFailureOnTheSameSourceIsNotRetriedTwice() {
        let detector = DeterministicFailureDetector()
        #expect(detector.shouldRetry(source: "abc", signature: "exit 1 in build"))
        #expect(!detector.shouldRetry(source: "abc", signature: "exit 1 in build"), "seen before: deterministic")
        #expect(detector.shouldRetry(source: "abc", signature: "timed out"), "a different failure is new")
        #expect(detector.shouldRetry(source: "def", signature: "exit 1 in build"), "another source is new")
        // A manual rebuild of the same source fails the same way: no automatic retry at all.
        #expect(!detector.shouldRetry(source: "abc", signature: "exit 1 in build"))
        #expect(detector.deterministicCount == 2)
    }

    @Test func theDetectorForgetsTheOldestFailuresBeyondItsCapacity() {
        let detector = DeterministicFailureDetector(capacity: 2)
        #expect(detector.shouldRetry(source: "a", signature: "x"))
        #expect(detector.shouldRetry(source: "b", signature: "x"))
        #expect(detector.shouldRetry(source: "c", signature: "x"))
        #expect(detector.shouldRetry(source: "a", signature: "x"), "forgotten")
        #expect(!detector.shouldRetry(source: "c", signature: "x"))
    }

    @Test func aFailureJudgedDeterministicEndsTheJobWithAttemptsLeft() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir)
        let detector = DeterministicFailureDetector()
        let job = try queue.enqueue(request(dir), now: t0)
        var now = t0
        var attempts = 0
        while let claimed = try queue.claim(owner: "o", now: now) {
            attempts += 1
            let retry = detector.shouldRetry(source: claimed.source, signature: "exit 2: missing module")
            let finished = try queue.finish(
                jobID: claimed.id, owner: "o",
                outcome: .failed(exitCode: 2, error: "missing module", retryable: retry), now: now + 5)
            now = finished.availableAt + 1
            if attempts > 10 { break }
        }
        #expect(attempts == 2)
        #expect(try queue.get(job.id).state == .failed)
    }

    // MARK: - Bot storm

    @Test func aBotStormScalesUpButHumanPushesGoFirst() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = try makeQueue(dir)
        try queue.enqueue(batch: (0..<40).map { request(dir, app: "app\($0)", owner: "dependency-bot", hint: .low) }, now: t0)
        try queue.enqueue(request(dir, app: "shop", hint: .normal), now: t0 + 30)
        #expect(try queue.claim(owner: "o", now: t0 + 31)?.app == "shop")
        var policy = AdaptiveAutoscaler()
        let decision = policy.decide(
            AutoscalerInput(
                now: t0 + 31, queue: queue.snapshot(now: t0 + 31), running: [build(1, startedAt: t0 + 31)],
                slots: slots([.busy]), limits: .default, provisioningDelay: 45))
        #expect(decision.desiredSlots == 10, "the storm is real work: scale to the maximum")
    }

    @Test func ageKeepsRaisingAWaitingBotPushUntilItOutranksAFreshHumanPush() {
        let scorer = PriorityScorer()
        func score(hint: PriorityHint, waiting: Double, others: Int) -> Double {
            scorer.score(
                ScoreInputs(
                    kind: .user_push, hint: hint, secondsWaiting: waiting, popularity: 0,
                    expectedSeconds: 60, othersActive: others, previousAttempts: 0))
        }
        #expect(score(hint: .low, waiting: 0, others: 39) < score(hint: .normal, waiting: 0, others: 0))
        #expect(score(hint: .low, waiting: 3600, others: 39) > score(hint: .normal, waiting: 0, others: 0))
    }
}
