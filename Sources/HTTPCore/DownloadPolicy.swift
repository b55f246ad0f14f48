/// Which artifacts of a deployment are meant to be downloaded rather than shown in the browser
/// (installers, packages, archives), and the `Content-Disposition` that makes a browser save
/// them under their own name. Pure: the edge asks it once per file when a deployment is loaded.
public enum DownloadPolicy {
    /// Extensions (lower case, no dot) that are downloads in every app: the one list.
    public static let extensions: Set<String> = [
        "apk", "aab", "ipa", "zip", "dmg", "exe", "msi", "appimage", "deb", "rpm",
    ]

    /// Whether `path` (a deployment path such as `/releases/app.apk`) is a download: by its
    /// extension, or by one of the app's `downloads` patterns.
    public static func isDownload(path: String, patterns: [DownloadPattern] = []) -> Bool {
        if let ext = MediaType.fileExtension(of: path), extensions.contains(ext) { return true }
        return patterns.contains { $0.matches(path: path) }
    }

    /// The file name a download is saved under: the last segment of its path.
    public static func fileName(ofPath path: String) -> String {
        String(path.split(separator: "/", omittingEmptySubsequences: false).last ?? Substring(path))
    }

    /// `attachment; filename="…"` (RFC 6266 §4.1). The quoted `filename` carries the name with
    /// every character a quoted-string cannot hold safely (non-ASCII, `"`, `\`, `%`, controls)
    /// replaced by `_`; when anything was replaced, `filename*=UTF-8''…` (RFC 8187) carries the
    /// exact name percent-encoded, which browsers prefer. The value never holds CR, LF or NUL.
    public static func contentDisposition(fileName: String) -> String {
        var fallback = ""
        var exact = true
        for scalar in fileName.unicodeScalars {
            let v = scalar.value
            if v >= 0x20 && v < 0x7F && scalar != "\"" && scalar != "\\" && scalar != "%" {
                fallback.unicodeScalars.append(scalar)
            } else {
                fallback.append("_")
                exact = false
            }
        }
        if fallback.isEmpty {
            fallback = "download"
            exact = false
        }
        var value = "attachment; filename=\"\(fallback)\""
        if !exact && !fileName.isEmpty {
            value += "; filename*=UTF-8''" + attrValue(fileName)
        }
        return value
    }

    /// RFC 8187 `value-chars`: attr-char bytes as they are, every other UTF-8 byte as `%XX`.
    static func attrValue(_ s: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        let attrChars = Set("!#$&+-.^_`|~".utf8)
        var out: [UInt8] = []
        for b in s.utf8 {
            if (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || attrChars.contains(b) {
                out.append(b)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 0xF)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// One `downloads` glob of an app's registry settings. `*` matches any run of characters but
/// `/`, `?` one character but `/`, `**` any run including `/`. A pattern starting with `/` is
/// matched against the whole deployment path (`/releases/**`); any other against the file name
/// alone (`*.bin`, `setup-?.pkg`). Matching is case-sensitive, as paths are.
public struct DownloadPattern: Sendable, Hashable, CustomStringConvertible {
    public let text: String
    private let elements: [Element]
    private let anchored: Bool

    private enum Element: Hashable {
        case literal(UInt8)
        case anyOne
        case anyInSegment
        case anyAcrossSegments
    }

    /// Why a pattern was refused.
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// Most patterns an app may list.
    public static let maxCount = 32

    /// Checks and compiles a pattern: 1–256 bytes without control characters or `\`, at most
    /// 8 stars, no empty, `.` or `..` path segments.
    public init(_ text: String) throws(Invalid) {
        let bytes = Array(text.utf8)
        guard (1...256).contains(bytes.count) else { throw Invalid(description: "a download pattern must be 1–256 bytes") }
        guard !bytes.contains(where: { $0 < 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "\\") }) else {
            throw Invalid(description: "a download pattern must not hold control characters or backslashes")
        }
        let segments = text.split(separator: "/", omittingEmptySubsequences: false).dropFirst(text.hasPrefix("/") ? 1 : 0)
        guard !segments.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
            throw Invalid(description: "download pattern \"\(text)\" has an empty, \".\" or \"..\" path segment")
        }
        var elements: [Element] = []
        var stars = 0
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "*") {
                stars += 1
                if i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "*") {
                    elements.append(.anyAcrossSegments)
                    i += 2
                    while i < bytes.count && bytes[i] == UInt8(ascii: "*") { i += 1 }
                    continue
                }
                elements.append(.anyInSegment)
            } else if b == UInt8(ascii: "?") {
                elements.append(.anyOne)
            } else {
                elements.append(.literal(b))
            }
            i += 1
        }
        guard stars <= 8 else { throw Invalid(description: "download pattern \"\(text)\" has more than 8 stars") }
        self.text = text
        self.elements = elements
        self.anchored = text.hasPrefix("/")
    }

    public var description: String { text }

    /// Whether the pattern matches a deployment path (`/dir/name.ext`).
    public func matches(path: String) -> Bool {
        let subject = anchored ? Array(path.utf8) : Array(DownloadPolicy.fileName(ofPath: path).utf8)
        return DownloadPattern.match(elements[...], subject[...])
    }

    /// Glob match by dynamic programming over (pattern element, subject offset), from the end:
    /// O(pattern × subject) whatever the stars, so no subject can make it backtrack for long.
    private static func match(_ pattern: ArraySlice<Element>, _ subject: ArraySlice<UInt8>) -> Bool {
        let s = Array(subject)
        let n = s.count
        let slash = UInt8(ascii: "/")
        // next[j]: the elements after the current one match s[j...].
        var next = [Bool](repeating: false, count: n + 1)
        next[n] = true
        var row = [Bool](repeating: false, count: n + 1)
        for element in pattern.reversed() {
            switch element {
            case .literal(let b):
                row[n] = false
                for j in 0..<n { row[j] = s[j] == b && next[j + 1] }
            case .anyOne:
                row[n] = false
                for j in 0..<n { row[j] = s[j] != slash && next[j + 1] }
            case .anyInSegment:
                row[n] = next[n]
                for j in stride(from: n - 1, through: 0, by: -1) { row[j] = next[j] || (s[j] != slash && row[j + 1]) }
            case .anyAcrossSegments:
                row[n] = next[n]
                for j in stride(from: n - 1, through: 0, by: -1) { row[j] = next[j] || row[j + 1] }
            }
            swap(&row, &next)
        }
        return next[0]
    }
}
