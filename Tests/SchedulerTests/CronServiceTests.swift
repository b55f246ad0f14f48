import Foundation
import Synchronization
import Testing
import WharfTestSupport

@testable import Scheduler

@Suite struct CronServiceTests {
    /// Counts the calls of a real action closure.
    final class Calls: Sendable {
        let count = Atomic<Int>(0)
        var action: CronService.Action {
            { _ in
                let n = self.count.add(1, ordering: .relaxed).newValue
                return "warmed (call \(n))"
            }
        }
    }

    func setUp() throws -> (TemporaryDirectory, CronStore) {
        let dir = try TemporaryDirectory()
        return (dir, CronStore(database: try SchedulerDatabase.open(path: dir.path + "/scheduler.sqlite")))
    }

    @Test func anAddedScheduleIsStoredWithItsNextRun() throws {
        let (dir, store) = try setUp()
        defer { dir.remove() }
        let s = try store.add(
            name: "nightly", expression: "0 2 * * *", zone: "Europe/Berlin", command: "warm",
            now: instant("2026-01-15T12:00:00Z"))
        #expect(s.nextRunAt == instant("2026-01-16T02:00:00+01:00"))
        #expect(try store.list().map(\.name) == ["nightly"])
        #expect(try store.get("nightly")?.zone == "Europe/Berlin")
        #expect(throws: CronStoreError.duplicate("nightly")) {
            try store.add(name: "nightly", expression: "0 3 * * *", zone: "UTC", command: "warm", now: .now)
        }
        #expect(try store.remove("nightly"))
        #expect(try !store.remove("nightly"))
        #expect(try store.list().isEmpty)
    }

    @Test func badSchedulesAreRefusedAndNothingIsStored() throws {
        let (dir, store) = try setUp()
        defer { dir.remove() }
        #expect(throws: CronStoreError.invalidName("Bad Name")) {
            try store.add(name: "Bad Name", expression: "0 2 * * *", zone: "UTC", command: "warm", now: .now)
        }
        #expect(throws: CronStoreError.invalidName(String(repeating: "a", count: 65))) {
            try store.add(name: String(repeating: "a", count: 65), expression: "0 2 * * *", zone: "UTC", command: "warm", now: .now)
        }
        #expect(throws: CronError.fieldCount(3)) { try store.add(name: "x", expression: "0 2 *", zone: "UTC", command: "warm", now: .now) }
        #expect(throws: CronError.unknownTimeZone("Nowhere/City")) {
            try store.add(name: "x", expression: "0 2 * * *", zone: "Nowhere/City", command: "warm", now: .now)
        }
        #expect(try store.list().isEmpty)
    }

    @Test func aDueScheduleFiresOnceAndMovesToItsNextRun() async throws {
        let (dir, store) = try setUp()
        defer { dir.remove() }
        let calls = Calls()
        let service = CronService(store: store, actions: ["warm": calls.action])
        try store.add(name: "nightly", expression: "0 2 * * *", zone: "UTC", command: "warm", now: instant("2026-01-15T12:00:00Z"))
        #expect(try await service.runOnce(now: instant("2026-01-16T01:59:59Z")).isEmpty)
        let firings = try await service.runOnce(now: instant("2026-01-16T02:00:01Z"))
        #expect(firings == [.init(name: "nightly", scheduledFor: instant("2026-01-16T02:00:00Z"), outcome: .succeeded, result: "warmed (call 1)")])
        #expect(try await service.runOnce(now: instant("2026-01-16T02:00:30Z")).isEmpty)
        let s = try #require(try store.get("nightly"))
        #expect(s.nextRunAt == instant("2026-01-17T02:00:00Z"))
        #expect(s.lastOutcome == .succeeded)
        #expect(s.lastResult == "warmed (call 1)")
        #expect(s.lastScheduledFor == instant("2026-01-16T02:00:00Z"))
        #expect(s.runCount == 1 && s.skipCount == 0)
        #expect(calls.count.load(ordering: .relaxed) == 1)
    }

    @Test func missedRunsWithinTheCatchUpWindowRunOnceAtStartUp() async throws {
        let (dir, store) = try setUp()
        defer { dir.remove() }
        let calls = Calls()
        try store.add(name: "often", expression: "*/10 * * * *", zone: "UTC", command: "warm", now: instant("2026-01-16T00:01:00Z"))
        // The process was down from 00:01 to 00:45: 00:10, 00:20, 00:30, 00:40 were missed; the oldest is 35 min late.
        let service = CronService(store: store, actions: ["warm": calls.action], catchUpWindow: 3600)
        let firings = try await service.runOnce(now: instant("2026-01-16T00:45:00Z"))
        #expect(firings.map(\.outcome) == [.succeeded])
        #expect(calls.count.load(ordering: .relaxed) == 1)
        #expect(try store.get("often")?.nextRunAt == instant("2026-01-16T00:50:00Z"))
    }

    @Test func missedRunsBeyondTheCatchUpWindowAreSkippedAndRecorded() async throws {
        let (dir, store) = try setUp()
        defer { dir.remove() }
        let calls = Calls()
        try store.add(name: "nightly", expression: "0 2 * * *", zone: "UTC", command: "warm", now: instant("2026-01-15T12:00:00Z"))
        // Down until 05:00 on the 18th: the 16th, 17th and 18th were missed; the oldest is far outside an hour.
        let service = CronService(store: store, actions: ["warm": calls.action], catchUpWindow: 3600)
        let firings = try await service.runOnce(now: instant("2026-01-18T05:00:00Z"))
        #expect(firings.map(\.outcome) == [.skipped])
        #expect(calls.count.load(ordering: .relaxed) == 0)
        let s = try #require(try store.get("nightly"))
        #expect(s.skipCount == 1 && s.runCount == 0)
        #expect(s.lastOutcome == .skipped)
        #expect(s.nextRunAt == instant("2026-01-19T02:00:00Z"))
        let history = try store.history("nightly")
        #expect(history.count == 1)
        #expect(history.first?.result.hasPrefix("missed 3 runs while down") == true)
    }

    @Test func aRunJustOutsideTheWindowIsSkippedAndJustInsideRuns() async throws {
        let (dir, store) = try setUp()
        defer { dir.remove() }
        let calls = Calls()
        let service = CronService(store: store, actions: ["warm": calls.action], catchUpWindow: 600)
        try store.add(name: "a", expression: "0 2 * * *", zone: "UTC", command: "warm", now: instant("2026-01-15T12:00:00Z"))
        try store.add(name: "b", expression: "0 2 * * *", zone: "UTC", command: "warm", now: instant("2026-01-15T12:00:00Z"))
        let inside = try await service.runOnce(now: instant("2026-01-16T02:10:00Z"))
        #expect(inside.map(\.outcome) == [.succeeded, .succeeded])
        let outside = try await service.runOnce(now: instant("2026-01-17T02:10:01Z"))
        #expect(outside.map(\.outcome) == [.skipped, .skipped])
    }

    @Test func twoServicesOnOneDatabaseFireADueRunOnlyOnce() async throws {
        let (dir, store) = try setUp()
        defer { dir.remove() }
        let calls = Calls()
        try store.add(name: "nightly", expression: "0 2 * * *", zone: "UTC", command: "warm", now: instant("2026-01-15T12:00:00Z"))
        let other = CronStore(database: try SchedulerDatabase.open(path: dir.path + "/scheduler.sqlite"))
        let a = CronService(store: store, actions: ["warm": calls.action])
        let b = CronService(store: other, actions: ["warm": calls.action])
        let now = instant("2026-01-16T02:00:05Z")
        async let fa = a.runOnce(now: now)
        async let fb = b.runOnce(now: now)
        let total = try await fa.count + fb.count
        #expect(total == 1)
        #expect(calls.count.load(ordering: .relaxed) == 1)
    }

    @Test func aFailingOrUnknownCommandIsRecordedAsFailed() async throws {
        struct Broken: Error, CustomStringConvertible { var description: String { "disk full" } }
        let (dir, store) = try setUp()
        defer { dir.remove() }
        let service = CronService(store: store, actions: ["warm": { _ in throw Broken() }])
        try store.add(name: "broken", expression: "0 2 * * *", zone: "UTC", command: "warm", now: instant("2026-01-15T12:00:00Z"))
        try store.add(name: "typo", expression: "0 2 * * *", zone: "UTC", command: "wrm", now: instant("2026-01-15T12:00:00Z"))
        let firings = try await service.runOnce(now: instant("2026-01-16T02:00:00Z"))
        #expect(firings.map(\.outcome) == [.failed, .failed])
        #expect(try store.get("broken")?.lastResult == "disk full")
        #expect(try store.get("typo")?.lastResult?.contains("unknown command 'wrm'") == true)
        #expect(try store.get("typo")?.nextRunAt == instant("2026-01-17T02:00:00Z"))
    }

    @Test func aManualRunLeavesTheNextRunAlone() async throws {
        let (dir, store) = try setUp()
        defer { dir.remove() }
        let calls = Calls()
        let service = CronService(store: store, actions: ["warm": calls.action])
        try store.add(name: "nightly", expression: "0 2 * * *", zone: "UTC", command: "warm", now: instant("2026-01-15T12:00:00Z"))
        let firing = try await service.run(name: "nightly", now: instant("2026-01-15T13:00:00Z"))
        #expect(firing.outcome == .succeeded)
        #expect(try store.get("nightly")?.nextRunAt == instant("2026-01-16T02:00:00Z"))
        #expect(try store.get("nightly")?.runCount == 1)
        await #expect(throws: CronStoreError.unknownSchedule("nope")) { try await service.run(name: "nope", now: .now) }
    }

    @Test func theBuiltInScheduleFollowsConfigurationAndKeepsItsHistory() async throws {
        let (dir, store) = try setUp()
        defer { dir.remove() }
        let now = instant("2026-01-15T12:00:00Z")
        let first = try store.installBuiltIn(name: "nightly-warm", expression: "0 2 * * *", zone: "UTC", command: "warm", now: now)
        #expect(first.builtIn)
        #expect(try store.installBuiltIn(name: "nightly-warm", expression: "0 2 * * *", zone: "UTC", command: "warm", now: now) == first)
        let moved = try store.installBuiltIn(name: "nightly-warm", expression: "0 2 * * *", zone: "America/New_York", command: "warm", now: now)
        #expect(moved.nextRunAt == instant("2026-01-16T02:00:00-05:00"))
        #expect(try store.list().count == 1)
    }

    @Test func historyIsBoundedPerSchedule() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = CronStore(database: try SchedulerDatabase.open(path: dir.path + "/scheduler.sqlite"), historyLimit: 3)
        let service = CronService(store: store, actions: ["warm": Calls().action])
        try store.add(name: "n", expression: "0 2 * * *", zone: "UTC", command: "warm", now: .now)
        for i in 0..<5 { _ = try await service.run(name: "n", now: instant("2026-01-15T12:00:00Z").addingTimeInterval(Double(i))) }
        #expect(try store.history("n", limit: 10).count == 3)
        #expect(try store.get("n")?.runCount == 5)
    }
}
