import Foundation
import GRDB
import Synchronization
import Testing
import WharfTestSupport

@testable import Scheduler

@Suite struct AlertStoreTests {
    func makeStore(_ dir: TemporaryDirectory, onDeliveryQueued: (@Sendable () -> Void)? = nil) throws -> AlertStore {
        AlertStore(database: try SchedulerDatabase.open(path: dir.path + "/scheduler.sqlite"), onDeliveryQueued: onDeliveryQueued)
    }

    func backlog(_ n: Int) -> AlertCondition {
        AlertCondition(key: "backlog", kind: .backlog, summary: "backlog: \(n) builds queued", details: ["queued": .number(Double(n))])
    }

    @Test func theSameConditionFiresOnceAndCountsItsRepeats() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try makeStore(dir)
        guard case .fired(let first) = try store.raise(backlog(11), now: t0) else {
            Issue.record("the first raise did not fire")
            return
        }
        guard case .repeated(let second) = try store.raise(backlog(14), now: t0.addingTimeInterval(60)) else {
            Issue.record("the second raise fired again")
            return
        }
        #expect(second.id == first.id)
        #expect(second.count == 2)
        #expect(second.firstSeen == t0)
        #expect(second.lastSeen == t0.addingTimeInterval(60))
        #expect(second.summary == "backlog: 14 builds queued")
        #expect(second.details["queued"] == .number(14))
        #expect(try store.list(includeResolved: true).count == 1)
    }

    @Test func resolvingEndsTheAlertAndALaterFiringStartsANewOne() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try makeStore(dir)
        let first = try store.raise(backlog(11), now: t0).alert
        let resolved = try #require(try store.resolve(key: "backlog", now: t0.addingTimeInterval(30)))
        #expect(resolved.id == first.id)
        #expect(resolved.state == .resolved)
        #expect(resolved.resolvedAt == t0.addingTimeInterval(30))
        #expect(try store.resolve(key: "backlog", now: t0.addingTimeInterval(31)) == nil)
        #expect(try store.firing().isEmpty)

        let again = try store.raise(backlog(12), now: t0.addingTimeInterval(90))
        #expect(again == .fired(again.alert))
        #expect(again.alert.id != first.id)
        #expect(again.alert.count == 1)
        let all = try store.list(includeResolved: true)
        #expect(all.map(\.state) == [.firing, .resolved])
        #expect(try store.list().map(\.id) == [again.alert.id])
    }

    @Test func firingCountsListEveryKind() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try makeStore(dir)
        try store.raise(backlog(11), now: t0)
        try store.raise(AlertCondition(key: "slow_build:a:x", kind: .slow_build, summary: "a"), now: t0)
        try store.raise(AlertCondition(key: "slow_build:b:x", kind: .slow_build, summary: "b"), now: t0)
        let counts = try store.firingCounts()
        #expect(counts.count == AlertKind.allCases.count)
        #expect(counts[.slow_build] == 2)
        #expect(counts[.backlog] == 1)
        #expect(counts[.failure_rate] == 0)
        #expect(try store.firing(kind: .slow_build).map(\.key) == ["slow_build:a:x", "slow_build:b:x"])
    }

    @Test func firingsAndResolutionsAreQueuedForTheWebhookButRepeatsAreNot() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let wakes = Atomic<Int>(0)
        let store = try makeStore(dir, onDeliveryQueued: { wakes.add(1, ordering: .relaxed) })
        try store.raise(backlog(11), now: t0)
        try store.raise(backlog(12), now: t0.addingTimeInterval(1))
        try store.resolve(key: "backlog", now: t0.addingTimeInterval(2))
        #expect(wakes.load(ordering: .relaxed) == 2)
        let rows = try store.database.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT event, payload, attempts, delivered_at FROM alert_delivery ORDER BY id")
        }
        #expect(rows.map { $0["event"] as String } == ["firing", "resolved"])
        #expect(rows.allSatisfy { ($0["attempts"] as Int) == 0 && ($0["delivered_at"] as Double?) == nil })
        let event = try AlertJSON.decoder().decode(AlertEvent.self, from: Data((rows[1]["payload"] as String).utf8))
        #expect(event.event == .resolved)
        #expect(event.alert.key == "backlog")
        #expect(event.alert.count == 2)
    }

    @Test func withoutAWebhookNothingIsQueued() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try makeStore(dir)
        try store.raise(backlog(11), now: t0)
        #expect(try store.database.writer.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM alert_delivery") } == 0)
    }

    @Test func anOversizedKeyIsRefusedAndNothingIsStored() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try makeStore(dir)
        #expect(throws: DatabaseError.self) {
            try store.raise(AlertCondition(key: String(repeating: "k", count: 301), kind: .backlog, summary: "x"), now: t0)
        }
        #expect(throws: DatabaseError.self) {
            try store.raise(AlertCondition(key: "", kind: .backlog, summary: "x"), now: t0)
        }
        #expect(try store.list(includeResolved: true).isEmpty)
    }

    @Test func hostileTextInSummariesAndDetailsRoundTripsThroughJSON() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try makeStore(dir)
        let text = "quote \" backslash \\ newline \n nul \u{0} emoji 🚢 </script>"
        try store.raise(
            AlertCondition(
                key: "slow_build:x:y", kind: .slow_build, summary: text,
                details: ["app": .string(text), "nested": .object(["list": .strings([text])])]), now: t0)
        let response = AlertsAPI.handle(store: store, query: [:])
        #expect(response.status == 200)
        let listing = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        let alerts = try #require(listing?["alerts"] as? [[String: Any]])
        #expect(alerts.first?["summary"] as? String == text.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}"))
        #expect((alerts.first?["details"] as? [String: Any])?["app"] as? String == text)
    }

    @Test func theAlertsAPIListsFiringAlertsOrAllAndRefusesBadParameters() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try makeStore(dir)
        try store.raise(backlog(11), now: t0)
        try store.resolve(key: "backlog", now: t0.addingTimeInterval(1))
        try store.raise(AlertCondition(key: "slow_build:a:x", kind: .slow_build, summary: "slow"), now: t0.addingTimeInterval(2))

        func listing(_ query: [String: String]) throws -> [String: Any] {
            let response = AlertsAPI.handle(store: store, query: query)
            #expect(response.status == 200)
            return try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        }
        let firing = try listing([:])
        #expect(firing["firing"] as? Int == 1)
        let firingAlerts = try #require(firing["alerts"] as? [[String: Any]])
        #expect(firingAlerts.map { $0["key"] as? String } == ["slow_build:a:x"])
        #expect(firingAlerts.first?["firstSeen"] as? String == "2027-01-15T08:00:02Z")
        #expect(firingAlerts.first?["state"] as? String == "firing")
        #expect(((try listing(["all": "1"]))["alerts"] as? [[String: Any]])?.count == 2)
        #expect(((try listing(["all": "1", "kind": "backlog"]))["alerts"] as? [[String: Any]])?.map { $0["state"] as? String } == ["resolved"])
        #expect(((try listing(["all": "true", "limit": "1"]))["alerts"] as? [[String: Any]])?.count == 1)

        for bad in [["limit": "0"], ["limit": "abc"], ["limit": "1001"], ["kind": "nope"], ["all": "maybe"]] {
            let response = AlertsAPI.handle(store: store, query: bad)
            #expect(response.status == 400, "query \(bad)")
            let body = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
            #expect(body?["error"] is String)
        }
    }
}
