import Foundation

/// Which files are versions of one asset across deployments, from their content-hashed names:
/// `/assets/app.3f9a1c2e.js` and `/assets/app.77b01d4a.js` share the pattern `/assets/app.*.js`.
///
/// The pattern serves twice: at publish, to find a file's predecessors in earlier deployments
/// (the dictionaries its deltas are made against), and at the edge, as the `match` of
/// `Use-As-Dictionary` (RFC 9842 §2.1.1). There it is written relative (`app.*.js`): a URL
/// Pattern resolves a relative pathname against the response's URL, so the same header works
/// whether the app is served at `/` by Host or under `/apps/<app>/`.
public struct DictionaryPattern: Sendable, Hashable {
    /// Directory of the file, with trailing slash (`/assets/`).
    public var directory: String
    /// The name up to and including the separator before the hash (`app.`, `index-`).
    public var stem: String
    /// The name after the hash, from its dot (`.js`).
    public var suffix: String

    /// False for an exact path the app lists (`dictionary-paths`): its versions share the URL.
    public var wildcard: Bool = true

    /// Deployment-absolute pattern (`/assets/app.*.js`).
    public var absolute: String { directory + stem + (wildcard ? "*" : "") + suffix }
    /// Relative to the file's own URL (`app.*.js`), for `Use-As-Dictionary: match`.
    public var relative: String { stem + (wildcard ? "*" : "") + suffix }

    /// The pattern of a file that keeps its name across deployments (`/main.dart.js`), for paths
    /// an app lists explicitly; nil for paths with characters a URL Pattern would read as syntax.
    public static func exact(path: String) -> DictionaryPattern? {
        guard path.utf8.count <= 1024, path.hasPrefix("/"), !path.hasSuffix("/"), !path.contains("//"),
            let slash = path.lastIndex(of: "/")
        else { return nil }
        guard
            path.utf8.allSatisfy({ b in
                (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                    || b == 0x2E || b == 0x5F || b == 0x7E || b == 0x2D || b == 0x2F
            })
        else { return nil }
        return DictionaryPattern(
            directory: String(path[...slash]), stem: String(path[path.index(after: slash)...]),
            suffix: "", wildcard: false)
    }

    /// The pattern of `path`: an exact one when the app lists it, else from its hashed name.
    public static func of(path: String, hashedName: Regex<AnyRegexOutput>, listed: Set<String>) -> DictionaryPattern? {
        if listed.contains(path) { return exact(path: path) }
        return of(path: path, hashedName: hashedName)
    }

    /// The pattern of a URL path whose last segment matches `hashedName` (the store's
    /// content-hash regex) as `<stem><hash><suffix>`; nil for names that are not versioned or
    /// that hold characters a URL Pattern would read as syntax (only `A-Za-z0-9._~-` and `/` in
    /// the directory are used, so no escaping is ever needed).
    public static func of(path: String, hashedName: Regex<AnyRegexOutput>) -> DictionaryPattern? {
        guard path.utf8.count <= 1024, path.hasPrefix("/"), let slash = path.lastIndex(of: "/") else { return nil }
        let directory = String(path[...slash])
        let name = String(path[path.index(after: slash)...])
        guard let match = name.firstMatch(of: hashedName) else { return nil }
        let matched = name[match.range]
        // The match is "<separator><hash><.extension…>": split at the separator and at the first
        // dot after the hash.
        guard let separator = matched.first, separator == "." || separator == "-",
            let dot = matched.dropFirst().firstIndex(of: ".")
        else { return nil }
        let hash = matched[matched.index(after: matched.startIndex)..<dot]
        guard !hash.isEmpty else { return nil }
        let stem = String(name[..<matched.index(after: matched.startIndex)])
        let suffix = String(name[dot...])
        guard stem.count > 1, suffix.count > 1 else { return nil }
        func safe(_ s: String, allowSlash: Bool) -> Bool {
            s.utf8.allSatisfy { b in
                (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                    || b == 0x2E || b == 0x5F || b == 0x7E || b == 0x2D || (allowSlash && b == 0x2F)
            }
        }
        guard safe(directory, allowSlash: true), safe(stem, allowSlash: false), safe(suffix, allowSlash: false),
            !directory.contains("//")
        else { return nil }
        return DictionaryPattern(directory: directory, stem: stem, suffix: suffix)
    }

    /// The request destination a browser uses for the file, when one is certain: `script` for
    /// JavaScript, `style` for CSS; nil (any destination) otherwise.
    public static func destination(contentType: String) -> String? {
        if contentType.hasPrefix("text/javascript") || contentType.hasPrefix("application/javascript") { return "script" }
        if contentType.hasPrefix("text/css") { return "style" }
        return nil
    }

    /// Content types worth offering as dictionaries and delta-encoding: scripts, styles, wasm,
    /// JSON, source maps (the assets a redeploy changes a little).
    static func isDictionaryType(_ contentType: String) -> Bool {
        contentType.hasPrefix("text/javascript") || contentType.hasPrefix("application/javascript")
            || contentType.hasPrefix("text/css") || contentType.hasPrefix("application/wasm")
            || contentType.hasPrefix("application/json")
    }
}

/// The per-app switch: a deployment published with `dictionaries=off` in its metadata
/// (`wharf publish --no-dictionaries`) gets no deltas and advertises no dictionaries.
public enum DictionarySetting {
    public static let metadataKey = "dictionaries"
    /// Comma-separated URL paths whose names do not change between deployments but which are worth
    /// delta-encoding (`/main.dart.js`): each is its own dictionary pattern. Sticky like `dictionaries`.
    public static let pathsKey = "dictionary-paths"

    static func isEnabled(metadata: [String: String]) -> Bool {
        metadata[metadataKey]?.lowercased() != "off"
    }

    /// The listed paths (only those `DictionaryPattern.exact` accepts).
    static func listedPaths(metadata: [String: String]) -> Set<String> {
        guard let value = metadata[pathsKey] else { return [] }
        return Set(
            value.split(separator: ",").map { String($0.trimmingCharacters(in: .whitespaces)) }
                .filter { DictionaryPattern.exact(path: $0) != nil })
    }
}
