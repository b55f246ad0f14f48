import Configuration
import Foundation

/// One configuration key, declared once: its dotted name, its default, the values it allows and a
/// one-line doc. The loader reads it (type and range checked here, one error format for every key),
/// `check-config --list-keys` and the README's Configuration table print it, and the unknown-key
/// check knows it, so a key never has to be spelled in a second place.
struct SettingKey<Value: SettingValue>: Sendable {
    let name: String
    let defaultValue: Value
    let allowed: Allowed
    let doc: String

    init(_ name: String, _ defaultValue: Value, _ allowed: Allowed = .any, _ doc: String) {
        (self.name, self.defaultValue, self.allowed, self.doc) = (name, defaultValue, allowed, doc)
    }

    /// The reason `value` is refused, in the one format every key shares; nil when it is allowed.
    func refusal(_ value: Value) -> String? {
        value.isAllowed(by: allowed) ? nil : "got \(value.settingText), allowed \(allowed.text)"
    }

    /// The key without its type, for the table's listings and checks.
    var descriptor: KeyDescriptor {
        KeyDescriptor(
            name: name, type: Value.typeName, defaultText: defaultValue.settingText, allowedText: allowed.text,
            doc: doc, defaultIsAllowed: defaultValue.isAllowed(by: allowed))
    }
}

/// A key's declaration without its value type: what the listings, the README table and the
/// unknown-key check need.
struct KeyDescriptor: Sendable, Equatable {
    var name: String
    var type: String
    var defaultText: String
    var allowedText: String
    var doc: String
    var defaultIsAllowed: Bool

    /// The environment variable that sets the key: `WHARF_` + the name in upper case, dots as
    /// underscores (`edge.cache_bytes` → `WHARF_EDGE_CACHE_BYTES`).
    var environmentName: String { Self.environmentName(of: name) }

    static func environmentName(of key: String) -> String {
        "WHARF_" + key.uppercased().replacingOccurrences(of: ".", with: "_")
    }
}

/// The values a key allows, with the text that says so: a numeric range (each end open, closed or
/// absent), a list of choices, or anything of the key's type.
struct Allowed: Sendable {
    enum Bound: Sendable {
        case none
        case inclusive(Double)
        case exclusive(Double)
    }
    var lower: Bound = .none
    var upper: Bound = .none
    var choices: [String]? = nil

    static let any = Allowed()
    /// `low...high`, both included.
    static func within(_ low: Double, _ high: Double) -> Allowed { Allowed(lower: .inclusive(low), upper: .inclusive(high)) }
    /// `≥ low and < high`.
    static func from(_ low: Double, below high: Double) -> Allowed { Allowed(lower: .inclusive(low), upper: .exclusive(high)) }
    /// `≥ low`.
    static func atLeast(_ low: Double) -> Allowed { Allowed(lower: .inclusive(low)) }
    /// `> low`, optionally `≤ high`.
    static func above(_ low: Double, atMost high: Double? = nil) -> Allowed {
        Allowed(lower: .exclusive(low), upper: high.map { .inclusive($0) } ?? .none)
    }
    /// `> low and < high`.
    static func between(_ low: Double, _ high: Double) -> Allowed { Allowed(lower: .exclusive(low), upper: .exclusive(high)) }
    /// One of `choices`, exactly.
    static func oneOf(_ choices: [String]) -> Allowed { Allowed(choices: choices) }

    func admits(_ number: Double) -> Bool {
        guard number.isFinite else { return false }
        switch lower {
        case .none: break
        case .inclusive(let l): if number < l { return false }
        case .exclusive(let l): if number <= l { return false }
        }
        switch upper {
        case .none: return true
        case .inclusive(let u): return number <= u
        case .exclusive(let u): return number < u
        }
    }

    func admits(_ text: String) -> Bool { choices?.contains(text) ?? true }

    var text: String {
        if let choices { return choices.map { $0.isEmpty ? "\"\"" : $0 }.joined(separator: " | ") }
        func n(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : "\(v)" }
        switch (lower, upper) {
        case (.none, .none): return "any"
        case (.inclusive(let l), .inclusive(let u)): return "\(n(l))...\(n(u))"
        case (.inclusive(let l), .none): return "≥ \(n(l))"
        case (.exclusive(let l), .none): return "> \(n(l))"
        case (.exclusive(let l), .inclusive(let u)): return "> \(n(l)) and ≤ \(n(u))"
        case (.inclusive(let l), .exclusive(let u)): return "≥ \(n(l)) and < \(n(u))"
        case (.exclusive(let l), .exclusive(let u)): return "> \(n(l)) and < \(n(u))"
        case (.none, .inclusive(let u)): return "≤ \(n(u))"
        case (.none, .exclusive(let u)): return "< \(n(u))"
        }
    }
}

/// A type a configuration key can have, read from swift-configuration's reader.
protocol SettingValue: Sendable {
    /// How the listings name the type: integer, number, boolean, string, list.
    static var typeName: String { get }
    /// The value for `key`; throws "Missing required config value…" when absent, another error when wrong.
    static func read(_ reader: ConfigReader, _ key: String) throws -> Self
    /// The value as wharf.yaml would spell it.
    var settingText: String { get }
    func isAllowed(by allowed: Allowed) -> Bool
}

extension Int: SettingValue {
    static var typeName: String { "integer" }
    static func read(_ reader: ConfigReader, _ key: String) throws -> Int { try reader.requiredInt(forKey: ConfigKey(key)) }
    var settingText: String { String(self) }
    func isAllowed(by allowed: Allowed) -> Bool { allowed.admits(Double(self)) }
}

extension Double: SettingValue {
    static var typeName: String { "number" }
    /// A whole number in the file reads as a number too.
    static func read(_ reader: ConfigReader, _ key: String) throws -> Double {
        do { return try reader.requiredDouble(forKey: ConfigKey(key)) } catch {
            if String(describing: error).hasPrefix("Missing required config value") { throw error }
            guard let whole = try? reader.requiredInt(forKey: ConfigKey(key)) else { throw error }
            return Double(whole)
        }
    }
    var settingText: String { self == rounded() && abs(self) < 1e15 ? String(Int64(self)) : "\(self)" }
    func isAllowed(by allowed: Allowed) -> Bool { allowed.admits(self) }
}

extension Bool: SettingValue {
    static var typeName: String { "boolean" }
    static func read(_ reader: ConfigReader, _ key: String) throws -> Bool { try reader.requiredBool(forKey: ConfigKey(key)) }
    var settingText: String { self ? "true" : "false" }
    func isAllowed(by allowed: Allowed) -> Bool { true }
}

extension String: SettingValue {
    static var typeName: String { "string" }
    static func read(_ reader: ConfigReader, _ key: String) throws -> String { try reader.requiredString(forKey: ConfigKey(key)) }
    var settingText: String { isEmpty ? "\"\"" : self }
    func isAllowed(by allowed: Allowed) -> Bool { allowed.admits(self) }
}

extension Array: SettingValue where Element == String {
    static var typeName: String { "list" }
    static func read(_ reader: ConfigReader, _ key: String) throws -> [String] {
        try reader.requiredStringArray(forKey: ConfigKey(key))
    }
    var settingText: String { "[" + map { "\"\($0)\"" }.joined(separator: ", ") + "]" }
    func isAllowed(by allowed: Allowed) -> Bool { allSatisfy { allowed.admits($0) } }
}
