import Foundation

/// `GET /_wharf/api/alerts` as a plain function (the wiring registers it with the admin server):
/// `?all=1` includes resolved alerts, `?kind=slow_build` filters, `?limit=N` (1...1000, default 100).
/// Answers `{"alerts":[…],"firing":N}` newest first, or 400 with `{"error":…}` for a bad parameter.
public enum AlertsAPI {
    public struct Response: Sendable, Equatable {
        public var status: Int
        /// JSON.
        public var body: [UInt8]
    }

    public static func handle(store: AlertStore, query: [String: String]) -> Response {
        do {
            let all = try flag(query["all"])
            var limit = 100
            if let text = query["limit"] {
                guard let n = Int(text), (1...1000).contains(n) else { return error(400, "limit must be 1...1000") }
                limit = n
            }
            var kind: AlertKind?
            if let text = query["kind"] {
                guard let k = AlertKind(rawValue: text) else {
                    return error(400, "unknown kind; use one of " + AlertKind.allCases.map(\.rawValue).joined(separator: ", "))
                }
                kind = k
            }
            var alerts = try store.list(includeResolved: all, limit: kind == nil ? limit : 10_000)
            if let kind { alerts = Array(alerts.filter { $0.kind == kind }.prefix(limit)) }
            let firing = try store.firingCounts().values.reduce(0, +)
            return Response(status: 200, body: try AlertJSON.encode(Listing(alerts: alerts, firing: firing)))
        } catch let problem as BadParameter {
            return error(400, problem.message)
        } catch {
            return Self.error(500, "cannot read alerts: \(error)")
        }
    }

    struct Listing: Encodable {
        var alerts: [Alert]
        var firing: Int
    }

    struct BadParameter: Error {
        var message: String
    }

    static func flag(_ text: String?) throws -> Bool {
        switch text {
        case nil, "0", "false", "no": return false
        case "", "1", "true", "yes": return true
        default: throw BadParameter(message: "all must be 1 or 0")
        }
    }

    static func error(_ status: Int, _ message: String) -> Response {
        Response(status: status, body: (try? AlertJSON.encode(["error": message])) ?? Array(#"{"error":"?"}"#.utf8))
    }
}
