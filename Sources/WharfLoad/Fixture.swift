import Foundation

/// The deployed apps a run requests, read from `fixture.json` (written by loadtests/fixture.py):
/// each app's files with their role, size and SHA-256. Files live at `<dir>/apps/<app>/<path>`
/// and are served at `/apps/<app>/<path>` by every server under test.
struct Fixture: Codable, Sendable, Equatable {
    struct App: Codable, Sendable, Equatable {
        var name: String
        var files: [File]
    }

    struct File: Codable, Sendable, Equatable {
        var path: String
        var role: String
        var size: Int
        var sha256: String
        /// Other contents a server may legitimately return for this path (deploy-under-load:
        /// the same path in the other deployment). `sha256` is always accepted.
        var acceptSha256: [String]?
    }

    var apps: [App]
    /// The directory holding `apps/`; set when loading, not part of the JSON.
    var directory: String?

    static func load(directory: String) throws -> Fixture {
        let path = directory + "/fixture.json"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Scenario.LoadError.invalid("cannot read \(path) (make it with loadtests/fixture.py)")
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        var fixture = try decoder.decode(Fixture.self, from: data)
        fixture.directory = directory
        return fixture
    }

    func fileURL(app: String, path: String) -> URL? {
        directory.map { URL(fileURLWithPath: $0).appendingPathComponent("apps/\(app)/\(path)") }
    }
}
