import Foundation
import HTTPCore

/// An app's MIME allow-list (`allowedTypes` in the registry): the files an upload may contain,
/// named by content type (`image/png`, or `image/*` for a whole top-level type) or by extension
/// (`.apk`). A path is allowed when its content type — the one the store will serve it with
/// (`MediaType`, by extension; `application/octet-stream` when unknown) — or its extension is
/// listed. An empty list allows everything.
struct AllowedTypes: Sendable {
    private var types: Set<String> = []
    private var topLevels: Set<String> = []
    private var extensions: Set<String> = []
    let isEmpty: Bool

    /// Most entries an app may list.
    static let maxCount = 64

    /// Compiles checked entries (see `check`).
    init(_ entries: [String]) {
        for entry in entries {
            if entry.hasPrefix(".") {
                extensions.insert(String(entry.dropFirst()))
            } else if entry.hasSuffix("/*") {
                topLevels.insert(String(entry.dropLast(2)))
            } else {
                types.insert(entry)
            }
        }
        isEmpty = entries.isEmpty
    }

    /// Whether a deployment path may be uploaded.
    func allows(path: String) -> Bool {
        if isEmpty { return true }
        if let ext = MediaType.fileExtension(of: path), extensions.contains(ext) { return true }
        let type = AllowedTypes.base(MediaType.contentType(forPath: path))
        if types.contains(type) { return true }
        if let slash = type.firstIndex(of: "/"), topLevels.contains(String(type[..<slash])) { return true }
        return false
    }

    /// Refuses (415) the first path of `paths` the list does not allow.
    func check(paths: some Sequence<String>) throws(DeployError) {
        if isEmpty { return }
        for path in paths where !allows(path: path) {
            throw AllowedTypes.refusal(path)
        }
    }

    static func refusal(_ path: String) -> DeployError {
        DeployError(415, "\"\(path)\" (\(base(MediaType.contentType(forPath: path)))) is not an allowed type for this app")
    }

    /// `text/html; charset=utf-8` → `text/html`.
    static func base(_ contentType: String) -> String {
        String(contentType.split(separator: ";").first ?? Substring(contentType)).trimmingCharacters(in: .whitespaces).lowercased()
    }

    /// Lower-cased, deduplicated entries, each `.ext` (1–32 of a-z 0-9 . _ + -) or `type/subtype`
    /// / `type/*` (RFC 9110 tokens, no parameters); at most 64. A 400 names the first bad one.
    static func check(_ entries: [String]) throws(DeployError) -> [String] {
        guard entries.count <= maxCount else { throw DeployError(400, "at most \(maxCount) allowed types") }
        func token(_ s: Substring) -> Bool {
            !s.isEmpty && s.utf8.count <= 127
                && s.utf8.allSatisfy { b in
                    (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || "!#$&^_.+-".utf8.contains(b)
                }
        }
        var out: [String] = []
        for raw in entries {
            let entry = raw.lowercased()
            let valid: Bool
            if entry.hasPrefix(".") {
                let ext = entry.dropFirst()
                valid =
                    (1...32).contains(ext.utf8.count)
                    && ext.utf8.allSatisfy { b in
                        (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || "._+-".utf8.contains(b)
                    }
            } else {
                let parts = entry.split(separator: "/", omittingEmptySubsequences: false)
                valid = parts.count == 2 && token(parts[0]) && (parts[1] == "*" || token(parts[1]))
            }
            guard valid else {
                throw DeployError(
                    400,
                    "allowed type \"\(String(raw.unicodeScalars.prefix(100).map { $0.value < 0x20 ? "?" : Character($0) }))\" is neither a content type (image/png, text/*) nor an extension (.apk)"
                )
            }
            if !out.contains(entry) { out.append(entry) }
        }
        return out
    }
}
