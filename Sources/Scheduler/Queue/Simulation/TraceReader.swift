import Foundation

/// Why a trace could not be read; each case names the line.
enum TraceError: Error, Equatable, Sendable, CustomStringConvertible {
    case empty
    case missingColumn(String)
    case badRow(line: Int, reason: String)
    case tooLarge(bytes: Int)

    public var description: String {
        switch self {
        case .empty: "trace is empty (no header row)"
        case .missingColumn(let name): "trace header lacks the column '\(name)'"
        case .badRow(let line, let reason): "trace line \(line): \(reason)"
        case .tooLarge(let bytes): "trace is \(bytes) bytes; the limit is \(TraceReader.maxBytes)"
        }
    }
}

/// A trace and what its sidecar `.meta.json` says about it.
public struct Trace: Sendable {
    var records: [TraceRecord]
    /// Days × 86,400 (from the meta file, else the last arrival rounded up to a whole day).
    var horizon: Double

    init(records: [TraceRecord], horizon: Double? = nil) {
        self.records = records.sorted { ($0.arrival, $0.requestID) < ($1.arrival, $1.requestID) }
        let last = self.records.last?.arrival ?? 0
        self.horizon = horizon ?? max(86_400, (last / 86_400).rounded(.up) * 86_400)
    }
}

/// Reads the trace CSV format: a header row, then one request per line. Strict: a malformed row is an
/// error naming its line, never a guess.
public enum TraceReader {
    /// Refuse files larger than this (a 7-day trace is ~1 MB).
    static let maxBytes = 256 * 1024 * 1024

    static let required = [
        "req_id", "arrival_s", "app_id", "build_type", "kind", "priority_hint", "source_hash",
        "deps_hash", "service_warm_s", "cold_extra_s", "fail_after_s", "fail_attempts",
    ]

    /// Reads `path` and, when present, the horizon from `<name>.meta.json` beside it.
    public static func load(path: String) throws -> Trace {
        let url = URL(fileURLWithPath: path)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        guard size <= maxBytes else { throw TraceError.tooLarge(bytes: size) }
        let text = String(decoding: try Data(contentsOf: url), as: UTF8.self)
        let meta = url.deletingPathExtension().appendingPathExtension("meta.json")
        var horizon: Double?
        if let data = try? Data(contentsOf: meta),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let value = object["horizon_s"] as? NSNumber, value.doubleValue.isFinite, value.doubleValue > 0
        {
            horizon = value.doubleValue
        }
        return Trace(records: try parse(text), horizon: horizon)
    }

    /// Parses CSV text (header row first).
    static func parse(_ text: String) throws -> [TraceRecord] {
        // "\r\n" is one Character in Swift: split on any line break, so CRLF files read like LF ones.
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        while let last = lines.last, last.isEmpty { lines.removeLast() }
        guard let header = lines.first, !header.isEmpty else { throw TraceError.empty }
        let names = header.split(separator: ",", omittingEmptySubsequences: false).map { String($0) }
        var column: [String: Int] = [:]
        for (i, name) in names.enumerated() { column[name] = i }
        for name in required where column[name] == nil { throw TraceError.missingColumn(name) }
        var records: [TraceRecord] = []
        records.reserveCapacity(lines.count)
        for (offset, line) in lines.enumerated().dropFirst() {
            let number = offset + 1
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == names.count else {
                throw TraceError.badRow(line: number, reason: "\(fields.count) fields, header has \(names.count)")
            }
            records.append(try record(fields, column: column, line: number))
        }
        return records
    }

    private static func record(_ fields: [Substring], column: [String: Int], line: Int) throws -> TraceRecord {
        func text(_ name: String) -> String? {
            guard let i = column[name] else { return nil }
            return String(fields[i])
        }
        func bad(_ reason: String) -> TraceError { .badRow(line: line, reason: reason) }
        func number(_ name: String, allowEmpty: Bool = false) throws -> Double? {
            let raw = text(name) ?? ""
            if raw.isEmpty, allowEmpty { return nil }
            guard let value = Double(raw), value.isFinite, value >= 0 else { throw bad("\(name) '\(raw)' is not a number ≥ 0") }
            return value
        }
        func integer(_ name: String, allowEmpty: Bool = false) throws -> Int? {
            let raw = text(name) ?? ""
            if raw.isEmpty, allowEmpty { return nil }
            guard let value = Int(raw), value >= 0 else { throw bad("\(name) '\(raw)' is not an integer ≥ 0") }
            return value
        }
        guard let id = try integer("req_id"), id >= 1 else { throw bad("req_id must be ≥ 1") }
        let app = text("app_id") ?? ""
        guard JobRequest.isValidAppName(app) else { throw bad("app_id '\(app)' is not a valid app name") }
        let kind: JobKind
        switch text("kind") {
        case "user_push": kind = .user_push
        case "cache_warm": kind = .cache_warm
        case "retry": kind = .retry
        case let other: throw bad("kind '\(other ?? "")' is not user_push, cache_warm or retry")
        }
        var hint = PriorityHint.normal
        if let raw = text("priority_hint"), !raw.isEmpty {
            guard let value = Int(raw), let parsed = PriorityHint(rawValue: value) else { throw bad("priority_hint '\(raw)' is not 1..3") }
            hint = parsed
        }
        let buildType = text("build_type") ?? ""
        guard !buildType.isEmpty, buildType.utf8.count <= 100 else { throw bad("build_type is empty") }
        let source = text("source_hash") ?? ""
        let deps = text("deps_hash") ?? ""
        guard !source.isEmpty, !deps.isEmpty, source.utf8.count <= 128, deps.utf8.count <= 128 else {
            throw bad("source_hash and deps_hash must be 1-128 characters")
        }
        let failAttempts = try integer("fail_attempts")!
        let failAfter = try number("fail_after_s", allowEmpty: true)
        if failAttempts > 0, failAfter == nil { throw bad("fail_attempts \(failAttempts) without fail_after_s") }
        var actor = TraceRecord.Actor.human
        if let raw = text("actor"), !raw.isEmpty {
            guard let parsed = TraceRecord.Actor(rawValue: raw) else { throw bad("actor '\(raw)' is not human, bot or system") }
            actor = parsed
        } else if kind == .cache_warm {
            actor = .system
        }
        var popularity = 0.0
        if column["popularity"] != nil, let value = try number("popularity", allowEmpty: true) { popularity = min(1, value) }
        let parent = column["parent_req_id"] != nil ? try integer("parent_req_id", allowEmpty: true) : nil
        return TraceRecord(
            requestID: id, arrival: try number("arrival_s")!, app: app, buildType: buildType, kind: kind, hint: hint,
            sourceHash: source, dependencyHash: deps, serviceWarm: try number("service_warm_s")!,
            coldExtra: try number("cold_extra_s")!, failAfter: failAfter, failAttempts: failAttempts,
            popularity: popularity, actor: actor, parentRequestID: parent)
    }
}
