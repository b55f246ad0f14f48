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

    /// Deployment-absolute pattern (`/assets/app.*.js`).
    public var absolute: String { directory + stem + "*" + suffix }
    /// Relative to the file's own URL (`app.*.js`), for `Use-As-Dictionary: match`.
    public var relative: String { stem + "*" + suffix }

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
              let dot = matched.dropFirst().firstIndex(of: ".") else { return nil }
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
              !directory.contains("//") else { return nil }
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
    public static func isDictionaryType(_ contentType: String) -> Bool {
        contentType.hasPrefix("text/javascript") || contentType.hasPrefix("application/javascript")
            || contentType.hasPrefix("text/css") || contentType.hasPrefix("application/wasm")
            || contentType.hasPrefix("application/json")
    }
}

/// The per-app switch: a deployment published with `dictionaries=off` in its metadata
/// (`wharf publish --no-dictionaries`) gets no deltas and advertises no dictionaries.
public enum DictionarySetting {
    public static let metadataKey = "dictionaries"
    public static func isEnabled(metadata: [String: String]) -> Bool {
        metadata[metadataKey]?.lowercased() != "off"
    }
}
