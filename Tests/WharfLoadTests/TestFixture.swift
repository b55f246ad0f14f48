import Crypto
import Foundation
import WharfTestSupport

@testable import WharfLoad

/// A small fixture on disk (fixture.json + apps/<app>/<path>) for catalogue and loopback tests.
struct TestFixture {
    let directory: URL
    let fixture: Fixture
    /// path served ("/apps/a/index.html") → content.
    let contents: [String: [UInt8]]

    static func make(apps: [String] = ["a", "b"], largeBytes: Int = 200_000) throws -> TestFixture {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-load-test-\(UUID().uuidString)")
        var random = SeededRandom(seed: 5)
        var fixtureApps: [Fixture.App] = []
        var contents: [String: [UInt8]] = [:]
        for app in apps {
            let files: [(String, String, [UInt8])] = [
                ("index.html", "entry", Array("<!doctype html><title>\(app)</title>\(String(repeating: "<p>hello</p>", count: 50))".utf8)),
                ("assets/main.js", "js", Array(String(repeating: "export const \(app) = 1;\n", count: 400).utf8)),
                ("assets/app.wasm", "wasm", (0..<largeBytes).map { _ in UInt8(truncatingIfNeeded: random.next()) }),
            ]
            var entries: [Fixture.File] = []
            for (path, role, bytes) in files {
                let url = directory.appendingPathComponent("apps/\(app)/\(path)")
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(bytes).write(to: url)
                contents["/apps/\(app)/\(path)"] = bytes
                entries.append(
                    Fixture.File(
                        path: path, role: role, size: bytes.count,
                        sha256: RequestCatalog.hex(SHA256.hash(data: bytes)), acceptSha256: nil))
            }
            fixtureApps.append(Fixture.App(name: app, files: entries))
        }
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        try encoder.encode(Fixture(apps: fixtureApps)).write(to: directory.appendingPathComponent("fixture.json"))
        return TestFixture(directory: directory, fixture: try Fixture.load(directory: directory.path), contents: contents)
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }
}
