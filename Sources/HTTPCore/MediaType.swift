/// Maps a file name to the `Content-Type` a browser needs for web-app artifacts, and says
/// whether that type is worth precompressing. Pure table lookups: no I/O, no sniffing.
public enum MediaType {
    /// The default for unknown extensions (RFC 9110 §8.3: the recipient may sniff, we add nosniff).
    public static let fallback = "application/octet-stream"

    /// Extension (lower case, no dot) to Content-Type. Text types carry `charset=utf-8`.
    public static let byExtension: [String: String] = [
        "html": "text/html; charset=utf-8",
        "htm": "text/html; charset=utf-8",
        "js": "text/javascript; charset=utf-8",
        "mjs": "text/javascript; charset=utf-8",
        "cjs": "text/javascript; charset=utf-8",
        "css": "text/css; charset=utf-8",
        "json": "application/json",
        "map": "application/json",
        "webmanifest": "application/manifest+json",
        "wasm": "application/wasm",
        "svg": "image/svg+xml",
        "png": "image/png",
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "gif": "image/gif",
        "webp": "image/webp",
        "avif": "image/avif",
        "ico": "image/x-icon",
        "woff": "font/woff",
        "woff2": "font/woff2",
        "ttf": "font/ttf",
        "otf": "font/otf",
        "txt": "text/plain; charset=utf-8",
        "xml": "application/xml",
        "apk": "application/vnd.android.package-archive",
        "aab": "application/octet-stream",
        "ipa": "application/octet-stream",
        "dmg": "application/x-apple-diskimage",
        "exe": "application/vnd.microsoft.portable-executable",
        "msi": "application/x-msi",
        "appimage": "application/vnd.appimage",
        "deb": "application/vnd.debian.binary-package",
        "rpm": "application/x-rpm",
        "zip": "application/zip",
        "pdf": "application/pdf",
        "mp4": "video/mp4",
        "webm": "video/webm",
    ]

    /// The Content-Type for a path, from its last extension (case-insensitive).
    public static func contentType(forPath path: String) -> String {
        guard let ext = fileExtension(of: path) else { return fallback }
        return byExtension[ext] ?? fallback
    }

    /// The lower-cased extension after the last dot of the last path segment, if any.
    public static func fileExtension(of path: String) -> String? {
        let name = path.split(separator: "/", omittingEmptySubsequences: false).last ?? Substring(path)
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return nil }
        let ext = name[name.index(after: dot)...]
        return ext.isEmpty ? nil : ext.lowercased()
    }

    /// Whether a body of this type usually shrinks under br/zstd/gzip (text, JSON, JS, CSS, SVG,
    /// wasm, fonts without built-in compression). Already-compressed formats (PNG, JPEG, WebP,
    /// AVIF, woff2, zip, APK, video) are not.
    public static func isCompressible(_ contentType: String) -> Bool {
        let base = contentType.split(separator: ";").first.map { $0.trimmingSpaces().lowercased() } ?? ""
        if base.hasPrefix("text/") { return true }
        switch base {
        case "application/json", "application/manifest+json", "application/wasm", "image/svg+xml",
            "application/xml", "image/x-icon", "font/ttf", "font/otf":
            return true
        default:
            return false
        }
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var s = self
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return s
    }
}
