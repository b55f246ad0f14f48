import Yams

/// The keys a configuration file sets that Wharf never reads: each is a mistake (a typo, a key of
/// another version, a setting under the wrong parent) that would otherwise be ignored in silence.
/// Keys are the file's leaf paths joined by dots (`edge: {h2: {enabled: …}}` is `edge.h2.enabled`);
/// a list is one value.
enum UnknownConfigKeys {
    /// The leaf keys of a YAML document; throws when it is not YAML.
    static func leafKeys(ofYAML text: String) throws -> [String] {
        guard let root = try Yams.load(yaml: text) else { return [] }
        var keys: [String] = []
        func walk(_ node: Any, _ path: [String]) {
            if let map = node as? [AnyHashable: Any] {
                for (key, value) in map { walk(value, path + ["\(key.base)"]) }
            } else if !path.isEmpty {
                keys.append(path.joined(separator: "."))
            }
        }
        walk(root, [])
        return keys.sorted()
    }

    /// `(key, reason)` for each file key outside `known`, with the nearest known key as a hint.
    static func problems(fileKeys: [String], known: Set<String>) -> [(key: String, reason: String)] {
        fileKeys.filter { !known.contains($0) }.map { key in
            if let near = nearest(to: key, in: known) {
                return (key, "unknown key (did you mean '\(near)'?)")
            }
            return (key, "unknown key")
        }
    }

    /// The known key closest to `key` by edit distance, if it is close enough to be a likely typo
    /// (at most a third of the key's length, at most 4) or has the same last part.
    static func nearest(to key: String, in known: Set<String>) -> String? {
        let limit = min(4, max(1, key.count / 3))
        var best: (String, Int)?
        for candidate in known.sorted() {
            let d = distance(key, candidate, cap: limit + 1)
            if d <= limit, d < (best?.1 ?? .max) { best = (candidate, d) }
        }
        if let best { return best.0 }
        let last = key.split(separator: ".").last.map(String.init) ?? key
        return known.sorted().first { $0.split(separator: ".").last.map(String.init) == last }
    }

    /// Levenshtein distance, stopping early once every path exceeds `cap`.
    static func distance(_ a: String, _ b: String, cap: Int) -> Int {
        let a = Array(a.utf8)
        let b = Array(b.utf8)
        if abs(a.count - b.count) >= cap { return cap }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            current[0] = i
            var rowMinimum = current[0]
            for j in 1...max(b.count, 1) where !b.isEmpty {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                rowMinimum = min(rowMinimum, current[j])
            }
            if rowMinimum >= cap { return cap }
            swap(&previous, &current)
        }
        return a.isEmpty ? b.count : (b.isEmpty ? a.count : previous[b.count])
    }
}

extension UnknownConfigKeys {
    /// The leaf values of a YAML document as wharf.yaml spells them (`[]` for an empty list,
    /// `""` for an empty string), by dotted key; for comparing a file's values with the table's defaults.
    static func leafValues(ofYAML text: String) throws -> [String: String] {
        guard let root = try Yams.load(yaml: text) else { return [:] }
        var values: [String: String] = [:]
        func spelled(_ node: Any) -> String {
            switch node {
            case let list as [Any]: "[" + list.map { "\"\(spelled($0))\"" }.joined(separator: ", ") + "]"
            case let string as String: string.isEmpty ? "\"\"" : string
            case let flag as Bool: flag ? "true" : "false"
            case let number as Double: number.settingText
            default: "\(node)"
            }
        }
        func walk(_ node: Any, _ path: [String]) {
            if let map = node as? [AnyHashable: Any] {
                for (key, value) in map { walk(value, path + ["\(key.base)"]) }
            } else if !path.isEmpty {
                values[path.joined(separator: ".")] = spelled(node)
            }
        }
        walk(root, [])
        return values
    }
}
