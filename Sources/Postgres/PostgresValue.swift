/// One column value of a result row, typed from the column's PostgreSQL type: integers (`int2`,
/// `int4`, `int8`) as `.integer`, `float4`/`float8`/`numeric` as `.double`, `bool` as `.bool`,
/// everything else as its text.
public enum PostgresValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case double(Double)
    case bool(Bool)
    case text(String)

    /// The value from libpq's text format for a column of type `oid`.
    init(text: String, oid: UInt32) {
        switch oid {
        case 20, 21, 23: self = Int64(text).map(PostgresValue.integer) ?? .text(text)
        case 700, 701, 1700: self = Double(text).map(PostgresValue.double) ?? .text(text)
        case 16: self = .bool(text == "t")
        default: self = .text(text)
        }
    }

    public var int64: Int64? {
        switch self {
        case .integer(let v): v
        case .bool(let b): b ? 1 : 0
        default: nil
        }
    }

    public var string: String? {
        if case .text(let s) = self { return s }
        return nil
    }
}

/// One result row: column names and their values, in the statement's order.
public struct PostgresRow: Sendable, Equatable {
    public let columns: [String]
    public let values: [PostgresValue]

    /// The value of the column `name` (the first one of that name), `.null` if there is none.
    public subscript(_ name: String) -> PostgresValue {
        guard let i = columns.firstIndex(of: name) else { return .null }
        return values[i]
    }
}

/// A value sent as a statement parameter, in PostgreSQL's text format (nil is SQL NULL). Parameters
/// travel apart from the statement text, so nothing in them is ever parsed as SQL.
public protocol PostgresParameter: Sendable {
    var postgresText: String? { get }
}

extension String: PostgresParameter { public var postgresText: String? { self } }
extension Int: PostgresParameter { public var postgresText: String? { String(self) } }
extension Int64: PostgresParameter { public var postgresText: String? { String(self) } }
extension Bool: PostgresParameter { public var postgresText: String? { self ? "1" : "0" } }
extension Double: PostgresParameter {
    /// Swift's shortest round-trip form, which PostgreSQL reads back to the same `float8`.
    public var postgresText: String? { isFinite ? "\(self)" : (isNaN ? "NaN" : (self > 0 ? "Infinity" : "-Infinity")) }
}
extension Optional: PostgresParameter where Wrapped: PostgresParameter {
    public var postgresText: String? { self?.postgresText }
}

/// A `bigint[]` parameter (`$1::bigint[]`), for `= ANY($1)`.
public struct PostgresBigintArray: PostgresParameter {
    public var values: [Int64]
    public init(_ values: [Int64]) { self.values = values }
    public var postgresText: String? { "{" + values.map(String.init).joined(separator: ",") + "}" }
}
