import Foundation
import GRDB
import Testing
import WharfTestSupport

@testable import Scheduler

/// Alerts stored before the APIs settled on camelCase keep snake_case detail keys in their rows;
/// the alerts API must show them in camelCase like new ones, keep data keys (job kinds) as they
/// are, and not be thrown by odd or hostile stored details.
@Suite struct AlertDetailKeysTests {
    func apiDetails(_ store: AlertStore) throws -> [String: Any] {
        let response = AlertsAPI.handle(store: store, query: [:])
        #expect(response.status == 200)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        return try #require((object["alerts"] as? [[String: Any]])?.first?["details"] as? [String: Any])
    }

    func store(details: String) throws -> (AlertStore, TemporaryDirectory) {
        let dir = try TemporaryDirectory()
        let store = AlertStore(database: try SchedulerDatabase.open(path: dir.path + "/scheduler.sqlite"))
        try store.raise(AlertCondition(key: "backlog", kind: .backlog, summary: "backlog"), now: t0)
        try store.database.writer.write { db in
            try db.execute(sql: "UPDATE alert SET details = ?", arguments: [details])
        }
        return (store, dir)
    }

    @Test func oldSnakeCaseDetailsAreShownInCamelCaseWithDataKeysKept() throws {
        let (store, dir) = try store(
            details: """
                {"job_id":7,"build_type":"flutter_web","threshold_seconds":300,"duration_seconds":420,
                 "dominant_stages":[{"name":"compile","seconds":300,"share":0.7}],"by_kind":{"user_push":3,"cache_warm":1},
                 "window_s":300,"baseline_share":0.01,"suggestions":["x"]}
                """)
        defer { dir.remove() }
        let details = try apiDetails(store)
        #expect(
            Set(details.keys) == [
                "jobId", "buildType", "thresholdSeconds", "durationSeconds", "dominantStages", "byKind",
                "windowSeconds", "baselineShare", "suggestions",
            ])
        #expect(details["buildType"] as? String == "flutter_web", "values stay as they are")
        #expect((details["byKind"] as? [String: Any]).map { Set($0.keys) } == ["user_push", "cache_warm"], "data keys stay")
        #expect((details["dominantStages"] as? [[String: Any]])?.first?["name"] as? String == "compile")
    }

    @Test func newDetailsAndUnknownKeysPassUnchanged() {
        let details: [String: AlertValue] = [
            "thresholdSeconds": .number(1), "some_future_key": .string("x"),
            "byKind": .object(["user_push": .number(2)]),
        ]
        #expect(AlertDetailKeys.camelCased(details) == details)
        #expect(AlertDetailKeys.renamed.values.allSatisfy { !$0.contains("_") })
    }

    @Test func hostileStoredDetailsNeverCrashTheRoute() throws {
        for stored in [
            "", "not json", "[1,2]", "null", #"{"job_id":{"job_id":{"job_id":[]}}}"#,
            #"{"job_id":1,"jobId":2}"#, String(repeating: "[", count: 10_000),
        ] {
            let (store, dir) = try store(details: stored)
            defer { dir.remove() }
            let response = AlertsAPI.handle(store: store, query: [:])
            #expect(response.status == 200, "\(stored.prefix(40)) → \(response.status)")
        }
    }
}
