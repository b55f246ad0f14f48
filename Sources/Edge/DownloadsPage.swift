import ArtifactStore
import Foundation
import HTTPCore

/// The generated `/_downloads` page of one deployment: every download of it (see
/// `DownloadPolicy`) with version, size, SHA-256 and date, as plain accessible HTML (a semantic
/// table with a caption and header cells, `lang`, headings, no script). Built once when the
/// deployment is loaded; served with a strong ETag derived from its bytes, so conditional
/// requests get `304` like any file.
///
/// Links are relative (`./releases/app.apk`), so the page works wherever the app is mounted
/// (`/_downloads` by Host, `/apps/<app>/_downloads` by path), and start with `./`, so a file
/// named like a URL scheme (`javascript:…`) can never become one. Every name is HTML-escaped.
public final class DownloadsPage: Sendable {
    /// The path inside an app where the page is served (unless the deployment has its own file there).
    public static let path = "/_downloads"

    public let body: [UInt8]
    public let etag: EntityTag
    /// Seconds since the epoch: the deployment's publish time.
    public let lastModified: Int64
    /// `ETag`, `Last-Modified`, `Cache-Control` (what a 304 repeats), each ending in CRLF.
    public let validatorHeaders: [UInt8]
    /// The validators plus `Content-Type` and the other fixed fields of a 200.
    public let fixedHeaders: [UInt8]
    /// How many files the page lists.
    public let count: Int

    init(app: String, deploymentID: String, version: String?, createdAtMs: Int64, downloads: [ServedFile]) {
        lastModified = max(0, createdAtMs / 1000)
        count = downloads.count
        body = Array(
            DownloadsPage.html(
                app: app, deploymentID: deploymentID, version: version,
                publishedAt: lastModified, downloads: downloads
            ).utf8)
        let tag = "\"dl-" + String(ContentHash.of(body).prefix(32)) + "\""
        etag = EntityTag(tag) ?? EntityTag(opaque: ArraySlice(tag.utf8))
        var validators = "ETag: \(tag)\r\n"
        validators += "Cache-Control: no-cache\r\n"
        validators += "Last-Modified: " + String(decoding: HTTPDate.format(lastModified), as: UTF8.self) + "\r\n"
        validatorHeaders = Array(validators.utf8)
        let fixed =
            validators + "Content-Type: text/html; charset=utf-8\r\n"
            + "X-Content-Type-Options: nosniff\r\n"
            + "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'\r\n"
            + "Referrer-Policy: no-referrer\r\n"
        fixedHeaders = Array(fixed.utf8)
    }

    /// The page's HTML.
    static func html(app: String, deploymentID: String, version: String?, publishedAt: Int64, downloads: [ServedFile]) -> String {
        let versionText = version.flatMap { $0.isEmpty ? nil : $0 } ?? deploymentID
        var out = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Downloads · \(escape(app))</title>
            <style>
            body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:64rem;padding:0 1rem;color:#1b1b1b;background:#fff}
            table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.5rem;border-bottom:1px solid #767676;vertical-align:top}
            td.num{text-align:right;white-space:nowrap}code{word-break:break-all;font-size:.85em}a{color:#0645ad}
            </style>
            </head>
            <body>
            <main>
            <h1>Downloads of \(escape(app))</h1>
            <p>Deployment <code>\(escape(deploymentID))</code>, version \(escape(versionText)), published <time datetime="\(iso(publishedAt))">\(human(publishedAt))</time>.</p>

            """
        if downloads.isEmpty {
            out += "<p>No downloads in this deployment.</p>\n"
        } else {
            out += """
                <table>
                <caption>\(downloads.count) \(downloads.count == 1 ? "file" : "files") to download</caption>
                <thead><tr><th scope="col">File</th><th scope="col">Version</th><th scope="col">Size</th><th scope="col">SHA-256</th><th scope="col">Date</th></tr></thead>
                <tbody>

                """
            for file in downloads {
                let entry = file.entry
                let name = DownloadPolicy.fileName(ofPath: entry.path)
                out +=
                    "<tr><th scope=\"row\"><a href=\"\(escape(href(entry.path)))\" download=\"\(escape(name))\">\(escape(String(entry.path.dropFirst())))</a></th>"
                out += "<td>\(escape(versionText))</td>"
                out += "<td class=\"num\"><data value=\"\(entry.size)\">\(humanSize(entry.size))</data></td>"
                out += "<td><code>\(escape(entry.blobHash))</code></td>"
                out += "<td><time datetime=\"\(iso(entry.lastModified))\">\(human(entry.lastModified))</time></td></tr>\n"
            }
            out += "</tbody>\n</table>\n"
        }
        out += "</main>\n</body>\n</html>\n"
        return out
    }

    /// `./` then each path segment percent-encoded (all but unreserved characters).
    static func href(_ path: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = Array("./".utf8)
        for (i, segment) in path.dropFirst().split(separator: "/", omittingEmptySubsequences: false).enumerated() {
            if i > 0 { out.append(UInt8(ascii: "/")) }
            for b in segment.utf8 {
                if (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                    || b == UInt8(ascii: "-") || b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: "~")
                {
                    out.append(b)
                } else {
                    out.append(UInt8(ascii: "%"))
                    out.append(hex[Int(b >> 4)])
                    out.append(hex[Int(b & 0xF)])
                }
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// HTML text and attribute escaping.
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                if c.value < 0x20 || c.value == 0x7F { out += "\u{FFFD}" } else { out.unicodeScalars.append(c) }
            }
        }
        return out
    }

    static func iso(_ seconds: Int64) -> String {
        let f = ISO8601DateFormatter()
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }

    static func human(_ seconds: Int64) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
        return f.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }

    /// `12,345,678 bytes (11.8 MiB)`-style size: exact bytes first, a rounded unit after.
    static func humanSize(_ bytes: Int64) -> String {
        var digits = Array(String(bytes))
        var grouped = ""
        while digits.count > 3 {
            grouped = "," + String(digits.suffix(3)) + grouped
            digits.removeLast(3)
        }
        grouped = String(digits) + grouped
        let units = ["KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = ""
        for u in units where value >= 1024 {
            value /= 1024
            unit = u
        }
        if unit.isEmpty { return "\(grouped) bytes" }
        return "\(grouped) bytes (\(String(format: "%.1f", value)) \(unit))"
    }
}
