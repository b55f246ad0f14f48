import Foundation

/// JSON in and out of the admin API. Output: `Encodable` values with sorted keys (stable for
/// tests and diffs). Input: a request body checked for shape by hand, so every malformed or
/// mis-shaped body gets a 400 that names the problem, and unknown keys are refused rather than
/// silently ignored (a typo like `"path"` for `"paths"` must not warm nothing and report success).
public enum AdminJSON {
    /// `value` as compact UTF-8 JSON with sorted keys.
    public static func encode<T: Encodable>(_ value: T) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return Array(try encoder.encode(value))
        } catch {
            return Array(#"{"error":"response could not be encoded"}"#.utf8)
        }
    }

    /// A 200 (or `status`) response carrying `value` as JSON.
    public static func response<T: Encodable>(_ value: T, status: Int = 200) -> AdminResponse {
        AdminResponse(status: status, body: encode(value))
    }

    /// The body as a JSON object; nil for an empty body when `optional`. Throws 400 for
    /// anything that is not one JSON object.
    public static func object(_ body: [UInt8], optional: Bool = false) throws -> Object? {
        if body.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) {
            if optional { return nil }
            throw AdminError(400, "a JSON object body is required")
        }
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: Data(body), options: [])
        } catch {
            throw AdminError(400, "malformed JSON: the body is not valid JSON")
        }
        guard let dictionary = parsed as? [String: Any] else {
            throw AdminError(400, "wrong shape: the body must be a JSON object")
        }
        return Object(fields: dictionary)
    }

    /// A parsed JSON object with typed, shape-checking accessors.
    public struct Object {
        let fields: [String: Any]

        /// Throws 400 if the object has a key outside `allowed`.
        public func allowOnly(_ allowed: Set<String>) throws {
            if let extra = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
                throw AdminError(400, "wrong shape: unknown key \"\(extra)\" (allowed: \(allowed.sorted().joined(separator: ", ")))")
            }
        }

        /// A string field; nil when absent (or null); 400 when present with another type.
        public func string(_ key: String) throws -> String? {
            guard let value = fields[key], !(value is NSNull) else { return nil }
            guard let string = value as? String else { throw AdminError(400, "wrong shape: \"\(key)\" must be a string") }
            return string
        }

        /// An array of strings; nil when absent; 400 when any element is not a string or there
        /// are more than `maxCount`.
        public func strings(_ key: String, maxCount: Int = 10_000) throws -> [String]? {
            guard let value = fields[key], !(value is NSNull) else { return nil }
            guard let array = value as? [Any] else { throw AdminError(400, "wrong shape: \"\(key)\" must be an array of strings") }
            guard array.count <= maxCount else { throw AdminError(400, "\"\(key)\" has more than \(maxCount) items") }
            return try array.map { element in
                guard let s = element as? String else { throw AdminError(400, "wrong shape: \"\(key)\" must hold only strings") }
                return s
            }
        }
    }
}
