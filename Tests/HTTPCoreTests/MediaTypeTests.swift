import HTTPCore
import Testing

@Suite("Media types for web-app artifacts")
struct MediaTypeTests {
    @Test(arguments: [
        ("index.html", "text/html; charset=utf-8"),
        ("/assets/app.3f2a1b.js", "text/javascript; charset=utf-8"),
        ("module.mjs", "text/javascript; charset=utf-8"),
        ("styles/site.css", "text/css; charset=utf-8"),
        ("main.wasm", "application/wasm"),
        ("icon.svg", "image/svg+xml"),
        ("logo.PNG", "image/png"),
        ("fonts/inter.woff2", "font/woff2"),
        ("manifest.webmanifest", "application/manifest+json"),
        ("app-release.apk", "application/vnd.android.package-archive"),
        ("data.json", "application/json"),
    ])
    func knownExtensionsMapToTheirType(path: String, type: String) {
        #expect(MediaType.contentType(forPath: path) == type)
    }

    @Test func unknownOrMissingExtensionsFallBackToOctetStream() {
        #expect(MediaType.contentType(forPath: "README") == MediaType.fallback)
        #expect(MediaType.contentType(forPath: "archive.xyz") == MediaType.fallback)
        #expect(MediaType.contentType(forPath: "dir.d/file") == MediaType.fallback)
        #expect(MediaType.contentType(forPath: "trailing.") == MediaType.fallback)
        #expect(MediaType.contentType(forPath: "") == MediaType.fallback)
    }

    @Test func aDotFileHasNoExtension() {
        #expect(MediaType.fileExtension(of: ".htaccess") == nil)
        #expect(MediaType.fileExtension(of: "a/.env") == nil)
    }

    @Test func onlyTheLastExtensionCounts() {
        #expect(MediaType.fileExtension(of: "bundle.js.map") == "map")
        #expect(MediaType.contentType(forPath: "bundle.js.map") == "application/json")
        #expect(MediaType.contentType(forPath: "page.html.br") == MediaType.fallback)
    }

    @Test func textJsonScriptsAndWasmAreCompressible() {
        for type in [
            "text/html; charset=utf-8", "text/css", "application/json", "application/wasm", "image/svg+xml",
            "TEXT/PLAIN", " application/manifest+json ; x=y",
        ] {
            #expect(MediaType.isCompressible(type), "\(type)")
        }
    }

    @Test func alreadyCompressedFormatsAreNotCompressible() {
        for type in [
            "image/png", "image/jpeg", "image/webp", "font/woff2", "application/zip",
            "application/vnd.android.package-archive", "video/mp4", "", ";",
        ] {
            #expect(!MediaType.isCompressible(type), "\(type)")
        }
    }

    @Test func everyMappedTypeIsAValidHeaderValue() {
        for (ext, type) in MediaType.byExtension {
            #expect(ext == ext.lowercased())
            #expect(ResponseHeadWriter.isValidValue(type.utf8))
        }
    }
}
