import ArtifactStore
import Foundation
import Glibc
import Testing

@testable import Edge

/// Downloads on a real edge: attachments with the right type and name, ranges and `curl -C -`
/// resume on them, and the generated `/_downloads` page (listing, escaping of hostile names,
/// ETag/304, HEAD, empty state, an app's own `/_downloads` winning, registry globs picked up live).
@Suite(.serialized) struct DownloadsEdgeTests {
    static let apk = "/downloads/app-release.apk"

    @Test(arguments: EdgeHarness.Listener.everyProtocol)
    func anAPKIsAnAttachmentWithItsTypeAndRanges(via: EdgeHarness.Listener) throws {
        let h = try EdgeHarness(tls: true)
        defer { h.stop() }
        let bytes = h.files[Self.apk]!
        let full = try h.client(via).get(Self.apk, headers: ["Accept-Encoding": "identity"])
        #expect(full.status == 200)
        #expect(full.body == bytes)
        #expect(full.header("Content-Disposition") == "attachment; filename=\"app-release.apk\"")
        #expect(full.header("Content-Type") == "application/vnd.android.package-archive")
        #expect(full.header("Accept-Ranges") == "bytes")
        let etag = try #require(full.header("ETag"))

        // A resumed download: the rest from an offset, guarded by If-Range.
        let rest = try h.client(via).get(Self.apk, headers: ["Range": "bytes=1000000-", "If-Range": etag])
        #expect(rest.status == 206)
        #expect(rest.header("Content-Range") == "bytes 1000000-\(bytes.count - 1)/\(bytes.count)")
        #expect(rest.header("Content-Disposition") == "attachment; filename=\"app-release.apk\"")
        #expect(rest.body == Array(bytes[1_000_000...]))
        // A stale validator gets the whole file again, never a splice of two versions.
        let stale = try h.client(via).get(Self.apk, headers: ["Range": "bytes=1000000-", "If-Range": "\"other\""])
        #expect(stale.status == 200)
        #expect(stale.body.count == bytes.count)
        // Other files are not attachments.
        let page = try h.client(via).get("/index.html")
        #expect(page.header("Content-Disposition") == nil)
    }

    @Test func curlResumesAPartialDownloadToTheExactBytes() throws {
        let h = try EdgeHarness()
        defer { h.stop() }
        let bytes = h.files[Self.apk]!
        let file = h.root.appendingPathComponent("partial.apk").path
        // A download cut at 1,234,567 bytes, as a dropped connection leaves it.
        try Data(bytes[..<1_234_567]).write(to: URL(fileURLWithPath: file))
        let url = "http://127.0.0.1:\(h.port)\(Self.apk)"
        let run = try Command.run(["curl", "-sS", "-C", "-", "-o", file, "-w", "%{http_code} %{size_download}", url])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "206 \(bytes.count - 1_234_567)")
        let resumed = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
        #expect(EdgeHarness.sha256(resumed) == EdgeHarness.sha256(bytes))
        // And the name curl takes from Content-Disposition is the file's own (-J).
        let dir = h.root.appendingPathComponent("named").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let named = try Command.run(["curl", "-sS", "-O", "-J", "--output-dir", dir, url])
        #expect(named.status == 0, "\(named.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["app-release.apk"])
    }

    @Test func thePageListsEachDownloadWithVersionSizeHashAndDate() throws {
        let h = try EdgeHarness(tls: true)
        defer { h.stop() }
        let bytes = h.files[Self.apk]!
        let r = try h.client(.plain).get("/_downloads")
        #expect(r.status == 200)
        #expect(r.header("Content-Type") == "text/html; charset=utf-8")
        #expect(r.header("Cache-Control") == "no-cache")
        #expect(r.header("Content-Security-Policy")?.hasPrefix("default-src 'none'") == true)
        let html = r.text
        #expect(html.hasPrefix("<!DOCTYPE html>\n<html lang=\"en\">"))
        #expect(html.contains("<h1>Downloads of demo</h1>"))
        #expect(html.contains("<caption>1 file to download</caption>"))
        #expect(html.contains("<th scope=\"col\">SHA-256</th>"))
        #expect(html.contains("<a href=\"./downloads/app-release.apk\" download=\"app-release.apk\">downloads/app-release.apk</a>"))
        #expect(html.contains("<code>\(EdgeHarness.sha256(bytes))</code>"))
        #expect(html.contains("3,145,728 bytes (3.0 MiB)"))
        #expect(html.contains("<td>v1</td>"))
        #expect(html.contains("<time datetime=\"20"))
        #expect(!html.contains("<script"))
        #expect(!html.contains("index.html"), "only downloads are listed")

        // Conditional requests and HEAD, as for files.
        let etag = try #require(r.header("ETag"))
        #expect(etag.hasPrefix("\"dl-"))
        let again = try h.client(.plain).get("/_downloads", headers: ["If-None-Match": etag])
        #expect(again.status == 304)
        #expect(again.body.isEmpty)
        #expect(again.header("ETag") == etag)
        let since = try h.client(.plain).get("/_downloads", headers: ["If-Modified-Since": try #require(r.header("Last-Modified"))])
        #expect(since.status == 304)
        let head = try h.client(.plain).get("/_downloads", method: "HEAD")
        #expect(head.status == 200)
        #expect(head.body.isEmpty)
        #expect(head.header("Content-Length") == String(r.body.count))
        #expect(head.header("ETag") == etag)
        // The page is not ranged: a Range request gets the whole page.
        let ranged = try h.client(.plain).get("/_downloads", headers: ["Range": "bytes=0-9"])
        #expect(ranged.status == 200)
        #expect(ranged.body == r.body)
        let failed = try h.client(.plain).get("/_downloads", headers: ["If-Match": "\"nope\""])
        #expect(failed.status == 412)
        // Other methods: 405 as everywhere.
        let post = try h.client(.plain).get("/_downloads", method: "POST")
        #expect(post.status == 405)
        // HTTP/2 gets the same page.
        let h2 = try h.client(.h2).get("/_downloads")
        #expect(h2.status == 200)
        #expect(h2.body == r.body)
        // Under the path mount too, with the same relative links.
        let mounted = try h.client(.plain).get("/apps/demo/_downloads")
        #expect(mounted.status == 200)
        #expect(mounted.body == r.body)
        // Only the exact path is the page.
        #expect(try h.client(.plain).get("/_downloads.html").status == 404)
    }

    /// Publishes `files` (name → bytes) as a deployment of `app` in the harness's store.
    static func publish(_ h: EdgeHarness, app: String, files: [String: [UInt8]], version: String? = nil) throws {
        let dir = h.root.appendingPathComponent("src-\(app)-\(UUID().uuidString)")
        for (path, bytes) in files {
            let url = dir.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(bytes).write(to: url)
        }
        try h.store.publish(PublishRequest(app: app, directory: dir.path, version: version, message: nil, metadata: [:]))
    }

    /// Polls `path` until `accept` holds (the edge reloads on its alias poll); at most 10 s.
    static func waitFor(_ h: EdgeHarness, _ path: String, _ accept: (TestClient.Response) -> Bool) throws -> TestClient.Response {
        let deadline = Date().addingTimeInterval(10)
        while true {
            let r = try h.client(.plain).get(path, headers: ["Accept-Encoding": "identity"])
            if accept(r) || Date() > deadline { return r }
            usleep(50_000)
        }
    }

    @Test func hostileNamesAreEscapedOnThePageAndInTheHeader() throws {
        let h = try EdgeHarness()
        defer { h.stop() }
        let hostile = "\"><script>alert('x')<!--.apk"
        let scheme = "javascript:alert(1).zip"
        let unicode = "Ünïcødé 应用.apk"
        try Self.publish(
            h, app: "shop",
            files: [
                "index.html": Array("<!doctype html><title>shop</title>".utf8),
                hostile: Array("hostile".utf8),
                scheme: Array("scheme".utf8),
                "releases/\(unicode)": Array("unicode".utf8),
            ], version: "<b>2.0</b>")
        // Until the edge has loaded "shop", the only app (demo) answers with its SPA entry point.
        let page = try Self.waitFor(h, "/apps/shop/_downloads") { $0.text.contains("Downloads of shop") }
        #expect(page.status == 200)
        let html = page.text
        #expect(!html.contains("<script"), "a file name must not open an element")
        #expect(!html.contains("<b>"))
        #expect(html.contains("&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;!--.apk"))
        #expect(html.contains("<td>&lt;b&gt;2.0&lt;/b&gt;</td>"))
        #expect(html.contains("href=\"./%22%3E%3Cscript%3Ealert%28%27x%27%29%3C%21--.apk\""))
        // A name shaped like a URL scheme stays a relative path.
        #expect(html.contains("href=\"./javascript%3Aalert%281%29.zip\""))
        #expect(!html.contains("href=\"javascript:"))
        #expect(html.contains("href=\"./releases/%C3%9Cn%C3%AFc%C3%B8d%C3%A9%20%E5%BA%94%E7%94%A8.apk\""))
        #expect(html.contains("<caption>3 files to download</caption>"))

        let r = try h.client(.plain).get("/apps/shop/" + DownloadsPage.href("/" + hostile).dropFirst(2))
        #expect(r.status == 200)
        #expect(r.text == "hostile")
        #expect(
            r.header("Content-Disposition")
                == "attachment; filename=\"_><script>alert('x')<!--.apk\"; filename*=UTF-8''%22%3E%3Cscript%3Ealert%28%27x%27%29%3C!--.apk")
        let u = try h.client(.plain).get("/apps/shop/" + DownloadsPage.href("/releases/" + unicode).dropFirst(2))
        #expect(u.status == 200)
        #expect(
            u.header("Content-Disposition")
                == "attachment; filename=\"_n_c_d_ __.apk\"; filename*=UTF-8''%C3%9Cn%C3%AFc%C3%B8d%C3%A9%20%E5%BA%94%E7%94%A8.apk")
    }

    @Test func registryGlobsMakeDownloadsAndAreTakenUpLive() throws {
        let h = try EdgeHarness()
        defer { h.stop() }
        try Self.publish(
            h, app: "fw",
            files: [
                "index.html": Array("<!doctype html><title>fw</title>".utf8),
                "firmware.bin": Array("firmware".utf8),
                "notes/readme.txt": Array("notes".utf8),
            ])
        var before = try Self.waitFor(h, "/apps/fw/firmware.bin") { $0.status == 200 }
        #expect(before.header("Content-Disposition") == nil)
        before = try h.client(.plain).get("/apps/fw/_downloads")
        #expect(before.text.contains("<p>No downloads in this deployment.</p>"), "the empty state")
        #expect(!before.text.contains("<table>"))

        try h.store.saveRegisteredApp(RegisteredApp(name: "fw", downloads: ["*.bin", "/notes/**"]), create: true)
        let after = try Self.waitFor(h, "/apps/fw/firmware.bin") { $0.header("Content-Disposition") != nil }
        #expect(after.header("Content-Disposition") == "attachment; filename=\"firmware.bin\"")
        #expect(after.header("Content-Type") == "application/octet-stream")
        let notes = try h.client(.plain).get("/apps/fw/notes/readme.txt")
        #expect(notes.header("Content-Disposition") == "attachment; filename=\"readme.txt\"")
        #expect(notes.header("Content-Type") == "text/plain; charset=utf-8")
        let page = try h.client(.plain).get("/apps/fw/_downloads")
        #expect(page.text.contains("<caption>2 files to download</caption>"))
        #expect(page.header("ETag") != before.header("ETag"))

        // Dropping the globs drops the attachments.
        var app = try #require(try h.store.registeredApp("fw"))
        app.downloads = []
        try h.store.saveRegisteredApp(app, create: false)
        let dropped = try Self.waitFor(h, "/apps/fw/firmware.bin") { $0.header("Content-Disposition") == nil }
        #expect(dropped.header("Content-Disposition") == nil)
    }

    @Test func anAppsOwnDownloadsFileWins() throws {
        let h = try EdgeHarness()
        defer { h.stop() }
        try Self.publish(
            h, app: "own",
            files: [
                "_downloads/index.html": Array("<!doctype html><title>our own list</title>".utf8),
                "app.apk": Array("apk".utf8),
            ])
        let r = try Self.waitFor(h, "/apps/own/_downloads") { $0.text.contains("our own") }
        #expect(r.text == "<!doctype html><title>our own list</title>")
        // The APK is still an attachment.
        let apk = try h.client(.plain).get("/apps/own/app.apk")
        #expect(apk.header("Content-Disposition") == "attachment; filename=\"app.apk\"")
    }
}
