import Testing

@testable import ArtifactStore

@Suite struct CachePolicyTests {
    let policy = try! CachePolicy()

    @Test(arguments: [
        "/assets/app.3f9a1c2e.js", "/assets/index-B5x_q9Ka.js", "/assets/style.0123abcd.css",
        "/chunk-5KQZQ4ZT.js", "/static/media/logo.8e2a3b1f4c.svg", "/main.dart.1234abcd5678.js",
        "/fonts/inter.a1b2c3d4.woff2",
    ])
    func contentHashedNamesAreImmutable(path: String) {
        #expect(policy.cacheControl(forPath: path) == "max-age=31536000, immutable")
    }

    @Test(arguments: [
        "/index.html", "/docs/page.htm", "/manifest.json", "/site.webmanifest", "/app.webmanifest",
        "/sw.js", "/service-worker.js", "/flutter_service_worker.js", "/INDEX.HTML", "/report.3f9a1c2e.html",
    ])
    func documentsManifestsAndServiceWorkersAreRevalidated(path: String) {
        #expect(policy.cacheControl(forPath: path) == "no-cache")
    }

    @Test(arguments: [
        "/favicon.ico", "/robots.txt", "/assets/my-component-library.js", "/jquery-3.7.1.min.js",
        "/app.js", "/logo.png", "/data/config.json", "/releases/app-release.apk", "/deadbeef.js",
    ])
    func everythingElseGetsTheDefault(path: String) {
        #expect(policy.cacheControl(forPath: path) == "public, max-age=300")
    }

    @Test func theDefaultAndThePatternAreConfigurable() throws {
        let custom = try CachePolicy(hashedNamePattern: #"^v\d+-"#, defaultCacheControl: "public, max-age=60")
        #expect(custom.cacheControl(forPath: "/v12-app.js") == CachePolicy.immutable)
        #expect(custom.cacheControl(forPath: "/app.3f9a1c2e.js") == "public, max-age=60")
        #expect(throws: (any Error).self) { try CachePolicy(hashedNamePattern: "([") }
    }
}
