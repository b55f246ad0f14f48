import Foundation

/// A JSON object from a request body, read with shape checks: every malformed body or
/// mistyped field is a 400 naming the problem, and unknown keys are refused.
struct JSONFields {
    let fields: [String: Any]

    /// Parses `body` as one JSON object (an empty body is `{}` when `optional`).
    init(_ body: [UInt8], optional: Bool = false) throws(DeployError) {
        if body.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) {
            guard optional else { throw DeployError(400, "a JSON object body is required") }
            fields = [:]
            return
        }
        guard let parsed = try? JSONSerialization.jsonObject(with: Data(body), options: []) else {
            throw DeployError(400, "malformed JSON: the body is not valid JSON")
        }
        guard let object = parsed as? [String: Any] else { throw DeployError(400, "wrong shape: the body must be a JSON object") }
        fields = object
    }

    init(object: [String: Any]) { fields = object }

    func allowOnly(_ allowed: Set<String>) throws(DeployError) {
        if let extra = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw DeployError(400, "wrong shape: unknown key \"\(extra)\" (allowed: \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    func has(_ key: String) -> Bool { fields[key] != nil }

    func isNull(_ key: String) -> Bool { fields[key] is NSNull }

    func string(_ key: String) throws(DeployError) -> String? {
        guard let value = fields[key], !(value is NSNull) else { return nil }
        guard let s = value as? String else { throw DeployError(400, "wrong shape: \"\(key)\" must be a string") }
        return s
    }

    func bool(_ key: String) throws(DeployError) -> Bool? {
        guard let value = fields[key], !(value is NSNull) else { return nil }
        guard let b = value as? Bool else { throw DeployError(400, "wrong shape: \"\(key)\" must be true or false") }
        return b
    }

    func integer(_ key: String) throws(DeployError) -> Int64? {
        guard let value = fields[key], !(value is NSNull) else { return nil }
        guard let n = value as? NSNumber, let i = Int64(exactly: n.doubleValue), Double(i) == n.doubleValue else {
            throw DeployError(400, "wrong shape: \"\(key)\" must be an integer")
        }
        return i
    }

    func strings(_ key: String, maxCount: Int) throws(DeployError) -> [String]? {
        guard let value = fields[key], !(value is NSNull) else { return nil }
        guard let array = value as? [Any] else { throw DeployError(400, "wrong shape: \"\(key)\" must be an array of strings") }
        guard array.count <= maxCount else { throw DeployError(400, "\"\(key)\" has more than \(maxCount) items") }
        var out: [String] = []
        for element in array {
            guard let s = element as? String else { throw DeployError(400, "wrong shape: \"\(key)\" must hold only strings") }
            out.append(s)
        }
        return out
    }

    func objects(_ key: String) throws(DeployError) -> [[String: Any]]? {
        guard let value = fields[key], !(value is NSNull) else { return nil }
        guard let array = value as? [Any] else { throw DeployError(400, "wrong shape: \"\(key)\" must be an array of objects") }
        var out: [[String: Any]] = []
        for element in array {
            guard let o = element as? [String: Any] else { throw DeployError(400, "wrong shape: \"\(key)\" must hold only objects") }
            out.append(o)
        }
        return out
    }
}
