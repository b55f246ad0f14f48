import Testing

@testable import HTTPCore

/// Which files are downloads, their `Content-Disposition` (RFC 6266 / RFC 8187), and the
/// registry's `downloads` globs, including hostile names and patterns.
@Suite struct DownloadPolicyTests {
    @Test func extensionsAreDownloadsWhateverTheirCase() {
        for path in [
            "/app.apk", "/b/app.AAB", "/x.ipa", "/a.zip", "/a.dmg", "/a.exe", "/a.msi", "/Tool.AppImage",
            "/a.deb", "/a.rpm",
        ] {
            #expect(DownloadPolicy.isDownload(path: path), "\(path)")
        }
        for path in ["/index.html", "/app.js", "/apk", "/apk/readme.txt", "/.apk-notes", "/a.apk.txt"] {
            #expect(!DownloadPolicy.isDownload(path: path), "\(path)")
        }
        #expect(MediaType.contentType(forPath: "/app.apk") == "application/vnd.android.package-archive")
        #expect(MediaType.contentType(forPath: "/Tool.AppImage") == "application/vnd.appimage")
        #expect(MediaType.contentType(forPath: "/a.deb") == "application/vnd.debian.binary-package")
    }

    @Test func plainNamesGetOnlyTheQuotedFilename() {
        #expect(DownloadPolicy.contentDisposition(fileName: "app-release.apk") == "attachment; filename=\"app-release.apk\"")
        #expect(DownloadPolicy.contentDisposition(fileName: "my app (1).zip") == "attachment; filename=\"my app (1).zip\"")
    }

    @Test func nonASCIIQuotesAndControlsAreReplacedAndCarriedExactlyInFilenameStar() {
        let unicode = DownloadPolicy.contentDisposition(fileName: "Ünïcødé 应用.apk")
        #expect(unicode == "attachment; filename=\"_n_c_d_ __.apk\"; filename*=UTF-8''%C3%9Cn%C3%AFc%C3%B8d%C3%A9%20%E5%BA%94%E7%94%A8.apk")
        let quote = DownloadPolicy.contentDisposition(fileName: "a\"b\\c%d.zip")
        #expect(quote == "attachment; filename=\"a_b_c_d.zip\"; filename*=UTF-8''a%22b%5Cc%25d.zip")
        // CR, LF and NUL can never split the header: they are neither in filename nor raw in filename*.
        let injected = DownloadPolicy.contentDisposition(fileName: "x\r\nSet-Cookie: a=b\u{0}.apk")
        #expect(!injected.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }))
        #expect(injected.hasPrefix("attachment; filename=\"x__Set-Cookie: a=b_.apk\"; filename*=UTF-8''x%0D%0ASet-Cookie%3A%20a%3Db%00.apk"))
        #expect(DownloadPolicy.contentDisposition(fileName: "") == "attachment; filename=\"download\"")
    }

    @Test func globsMatchNamesOrWholePaths() throws {
        let names = try DownloadPattern("*.bin")
        #expect(names.matches(path: "/firmware.bin"))
        #expect(names.matches(path: "/deep/dir/firmware.bin"))
        #expect(!names.matches(path: "/firmware.bin.txt"))
        let anchored = try DownloadPattern("/releases/**")
        #expect(anchored.matches(path: "/releases/v1/app.tar"))
        #expect(!anchored.matches(path: "/other/releases/app.tar"))
        let segment = try DownloadPattern("/releases/*.pkg")
        #expect(segment.matches(path: "/releases/a.pkg"))
        #expect(!segment.matches(path: "/releases/v1/a.pkg"))
        let one = try DownloadPattern("setup-?.pkg")
        #expect(one.matches(path: "/setup-1.pkg"))
        #expect(!one.matches(path: "/setup-10.pkg"))
        #expect(try DownloadPattern("exact.txt").matches(path: "/a/exact.txt"))
    }

    @Test func hostilePatternsAreRefused() {
        for bad in [
            "", String(repeating: "a", count: 257), "a\nb", "a\u{0}", "a\\b", "/../x", "/a//b", "./x", "a/./b",
            "/a/", String(repeating: "*a", count: 9),
        ] {
            #expect(throws: DownloadPattern.Invalid.self, "\(bad.debugDescription)") { _ = try DownloadPattern(bad) }
        }
    }

    @Test func backtrackingStaysBoundedOnAdversarialSubjects() throws {
        // 8 stars against a long subject that almost matches: must finish quickly, not hang.
        let pattern = try DownloadPattern("**a**a**a**a**a**a**a**b")
        let subject = "/" + String(repeating: "a", count: 1000)
        let start = ContinuousClock.now
        #expect(!pattern.matches(path: subject))
        #expect(ContinuousClock.now - start < .seconds(5))
    }
}
