import Foundation
import GRDB

/// What an alert is about. The raw values are stored in the `alert` table and shown to users.
public enum AlertKind: String, Sendable, CaseIterable, Codable {
    /// A build ran longer than its build type's threshold.
    case slow_build
    /// Too many builds in the rolling window failed or timed out.
    case failure_rate
    /// Too many builds are waiting in the queue.
    case backlog
    /// Builds in the rolling window took too long on average.
    case average_duration
    /// A running build has passed its timeout warning and will soon be killed.
    case timeout_warning
    /// An app's share of 5xx (or 404) responses jumped over its threshold and its baseline.
    case error_spike
}

/// Whether an alert's condition still holds.
public enum AlertState: String, Sendable, CaseIterable, Codable {
    case firing
    case resolved
}

/// How urgent an alert is.
public enum AlertSeverity: String, Sendable, CaseIterable, Codable {
    case warning
    case critical
}

/// A condition the monitor found true at one moment: what `AlertStore.raise` records. Two conditions
/// with the same `key` are the same alert (its count goes up, it does not fire twice).
struct AlertCondition: Sendable, Equatable {
    /// The deduplication key, e.g. `backlog` or `slow_build:shop:flutter_web`.
    var key: String
    public var kind: AlertKind
    public var severity: AlertSeverity
    /// One line for logs and the CLI.
    public var summary: String
    /// Structured facts (job, app, figures, suggestions) for the webhook and the API.
    public var details: [String: AlertValue]

    init(
        key: String, kind: AlertKind, severity: AlertSeverity = .warning, summary: String,
        details: [String: AlertValue] = [:]
    ) {
        self.key = key
        self.kind = kind
        self.severity = severity
        self.summary = summary
        self.details = details
    }
}

/// A JSON value inside an alert's details. (An empty list reads back from JSON as `.strings([])`.)
public enum AlertValue: Sendable, Equatable, Codable {
    case string(String)
    case number(Double)
    case strings([String])
    case object([String: AlertValue])
    case objects([[String: AlertValue]])

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let s): try container.encode(s)
        case .number(let n): try container.encode(n)
        case .strings(let a): try container.encode(a)
        case .object(let o): try container.encode(o)
        case .objects(let a): try container.encode(a)
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let n = try? container.decode(Double.self) {
            self = .number(n)
        } else if let s = try? container.decode(String.self) {
            self = .string(s)
        } else if let a = try? container.decode([String].self) {
            self = .strings(a)
        } else if let o = try? container.decode([String: AlertValue].self) {
            self = .object(o)
        } else {
            self = .objects(try container.decode([[String: AlertValue]].self))
        }
    }

    /// The string, if this is one.
    var string: String? { if case .string(let s) = self { s } else { nil } }
    /// The number, if this is one.
    var number: Double? { if case .number(let n) = self { n } else { nil } }
}

/// One alert as stored: a condition's life from first seen to resolved.
public struct Alert: Sendable, Equatable, Identifiable, Codable {
    public var id: Int64
    var key: String
    public var kind: AlertKind
    public var severity: AlertSeverity
    public var state: AlertState
    public var summary: String
    public var details: [String: AlertValue]
    public var firstSeen: Date
    public var lastSeen: Date
    public var resolvedAt: Date?
    /// How many times the condition was seen while this alert was firing (1 when it first fired).
    public var count: Int

}

extension Alert: FetchableRecord {
    public init(row: Row) throws {
        id = row["id"]
        key = row["key"]
        kind = AlertKind(rawValue: row["kind"]) ?? .slow_build
        severity = AlertSeverity(rawValue: row["severity"]) ?? .warning
        state = AlertState(rawValue: row["state"]) ?? .firing
        summary = row["summary"]
        let json: String = row["details"]
        details = AlertDetailKeys.camelCased((try? JSONDecoder().decode([String: AlertValue].self, from: Data(json.utf8))) ?? [:])
        firstSeen = Date(timeIntervalSince1970: row["first_seen"])
        lastSeen = Date(timeIntervalSince1970: row["last_seen"])
        resolvedAt = (row["resolved_at"] as Double?).map(Date.init(timeIntervalSince1970:))
        count = row["count"]
    }
}
