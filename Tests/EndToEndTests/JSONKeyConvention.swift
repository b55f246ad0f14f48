import Foundation

/// The one JSON key convention of Wharf's APIs, as tests check it: every key of every object is
/// camelCase (`^[a-z][a-zA-Z0-9]*$`: `deploymentId`, `firstSeen`, `queuedByKind`), except the keys
/// of a *data map*, an object whose keys are data rather than field names (`queuedByKind` maps job
/// kinds such as `user_push` to counts; `env` maps variable names such as `NODE_ENV` to values).
enum JSONKeyConvention {
    /// Field names whose value is a data map: its keys (and anything below them) are not checked.
    static let dataMaps: Set<String> = [
        "queuedByKind", "firingByKind", "byKind",  // job and alert kinds → counts
        "byClass", "byStatus",  // HTTP status classes (`2xx`) and codes (`200`) → counts
        "outcomes",  // build type → outcome → count
        "stageDurations",  // stage name (as the build printed it) → seconds
        "env",  // build environment variable names → values
    ]

    /// Whether `key` is camelCase.
    static func isCamelCase(_ key: String) -> Bool {
        guard let first = key.unicodeScalars.first, ("a"..."z").contains(first) else { return false }
        return key.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) }
    }

    /// Every key of `value` (a parsed JSON value) that breaks the convention, as `path.key`.
    static func violations(in value: Any, at path: String = "$") -> [String] {
        if let object = value as? [String: Any] {
            return object.keys.sorted().flatMap { key -> [String] in
                let here = path + "." + key
                let own = isCamelCase(key) ? [] : [here]
                return dataMaps.contains(key) ? own : own + violations(in: object[key]!, at: here)
            }
        }
        if let array = value as? [Any] {
            return array.enumerated().flatMap { violations(in: $0.element, at: path + "[\($0.offset)]") }
        }
        return []
    }

    /// The violations of a JSON text, or one naming the text when it is not JSON.
    static func violations(inJSON text: String, source: String) -> [String] {
        guard let parsed = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) else {
            return ["\(source): not JSON: \(text.prefix(200))"]
        }
        return violations(in: parsed).map { "\(source): \($0)" }
    }
}
