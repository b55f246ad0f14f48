import ArtifactStore
import Foundation
import Testing
import WharfTestSupport

@testable import Deploy

/// The app registry over a real store (SQLite file, migrations): settings are checked before
/// anything is stored, host names are unique across apps and move the alias generation (so the
/// edge reloads routing), removal takes the app's host names and tokens with it.
@Suite struct RegistryTests {
    static func store() throws -> (Store, TemporaryDirectory) {
        let dir = try TemporaryDirectory(prefix: "wharf-registry")
        return (try Store.open(at: dir.path + "/store"), dir)
    }

    @Test func addShowSetListRemove() throws {
        let (store, dir) = try Self.store()
        defer { dir.remove() }
        let service = AppRegistryService(store: store)
        var settings = AppSettings()
        settings.hostnames = ["Shop.Example.TEST.", "shop.example.test", "www.shop.test"]
        settings.git = .some(.init(url: "https://git.example.test/shop.git", branch: "release/1"))
        settings.buildCommand = .some("npm ci && npm run build")
        settings.outputDirectory = .some("dist")
        settings.targetType = "flutter_web"
        settings.notify = ["https://hooks.example.test/x"]
        settings.maxFiles = .some(50)
        let created = try service.add("shop", settings: settings)
        #expect(created.app.hostnames == ["shop.example.test", "www.shop.test"])
        #expect(created.app.source == .git(url: "https://git.example.test/shop.git", branch: "release/1"))
        #expect(created.app.hasWebhookSecret)
        #expect(created.app.maxFiles == 50 && created.app.maxBytes == nil)

        var change = AppSettings()
        change.git = .some(nil)
        change.hostnames = ["shop.example.test"]
        change.maxFiles = .some(nil)
        let changed = try service.set("shop", settings: change)
        #expect(changed.source == .uploads)
        #expect(changed.hostnames == ["shop.example.test"])
        #expect(changed.maxFiles == nil)
        #expect(changed.buildCommand == "npm ci && npm run build")
        #expect(try store.registeredHostnames() == ["shop.example.test": "shop"])
        #expect(try service.list().map(\.name) == ["shop"])

        try service.remove("shop")
        #expect(try service.list().isEmpty)
        #expect(try store.registeredHostnames().isEmpty)
        #expect(try store.token(id: created.token.id) == nil)
        #expect(throws: DeployError.self) { try service.remove("shop") }
    }

    @Test func badSettingsAreRefusedBeforeAnythingIsStored() throws {
        let (store, dir) = try Self.store()
        defer { dir.remove() }
        let service = AppRegistryService(store: store)
        func refused(_ name: String = "app", _ edit: (inout AppSettings) -> Void) -> Int? {
            var s = AppSettings()
            edit(&s)
            do {
                _ = try service.add(name, settings: s)
                return nil
            } catch let error as DeployError {
                return error.status
            } catch {
                return -1
            }
        }
        #expect(refused("Bad_Name") { _ in } == 400)
        #expect(refused { $0.hostnames = ["shop.test:8080"] } == 400)
        #expect(refused { $0.hostnames = ["http://shop.test"] } == 400)
        #expect(refused { $0.hostnames = ["-bad.test"] } == 400)
        #expect(refused { $0.git = .some(.init(url: "--upload-pack=evil", branch: "main")) } == 400)
        #expect(refused { $0.git = .some(.init(url: "https://x.test/r.git", branch: "a..b")) } == 400)
        #expect(refused { $0.git = .some(.init(url: "https://x.test/r.git", branch: "-f")) } == 400)
        #expect(refused { $0.outputDirectory = .some("../outside") } == 400)
        #expect(refused { $0.outputDirectory = .some("/abs") } == 400)
        #expect(refused { $0.targetType = "Flutter Web" } == 400)
        #expect(refused { $0.notify = ["ftp://x.test"] } == 400)
        #expect(refused { $0.maxFiles = .some(0) } == 400)
        #expect(try service.list().isEmpty)

        _ = try service.add(
            "one",
            settings: {
                var s = AppSettings()
                s.hostnames = ["one.test"]
                return s
            }())
        #expect(refused("one") { _ in } == 409)
        #expect(refused("two") { $0.hostnames = ["one.test"] } == 409)
        #expect(try service.list().map(\.name) == ["one"])
    }

    @Test func buildSecretsAreSealedPerAppAndNameAndOnlyTheirNamesComeBack() throws {
        let (store, dir) = try Self.store()
        defer { dir.remove() }
        let service = AppRegistryService(store: store)
        var s = AppSettings()
        s.env = ["NODE_ENV": "production", "EMPTY": ""]
        s.secrets = ["NPM_TOKEN": "npm-secret-123456", "SENTRY": "sentry-secret-abcdef"]
        let app = try service.add("shop", settings: s).app
        #expect(app.buildEnv == ["NODE_ENV": "production", "EMPTY": ""])
        #expect(app.buildSecretNames == ["NPM_TOKEN", "SENTRY"])
        #expect(!"\(app)".contains("npm-secret-123456"), "the registry value carries no secret")
        let opened = try store.appBuildEnvironment("shop")
        #expect(opened.variables == app.buildEnv)
        #expect(opened.secrets == ["NPM_TOKEN": "npm-secret-123456", "SENTRY": "sentry-secret-abcdef"])
        #expect(try store.appBuildEnvironment("unregistered").secrets.isEmpty)

        // A sealed value copied to another app or name does not open; a lost key fails loudly.
        let box = BuildSecretBox(storePath: store.path)
        let sealed = try box.seal("value", app: "shop", name: "A")
        #expect(try box.open(sealed, app: "shop", name: "A") == "value")
        #expect(throws: BuildSecretBox.Failure.self) { try box.open(sealed, app: "other", name: "A") }
        #expect(throws: BuildSecretBox.Failure.self) { try box.open(sealed, app: "shop", name: "B") }
        #expect(throws: BuildSecretBox.Failure.self) { try box.open("bm90IHNlYWxlZA==", app: "shop", name: "A") }

        // Unset one, change one; the others stay.
        var change = AppSettings()
        let secretChanges: [String: String?] = ["SENTRY": nil, "NPM_TOKEN": "rotated-npm-secret"]
        let envChanges: [String: String?] = ["EMPTY": nil]
        change.secrets = secretChanges
        change.env = envChanges
        let changed = try service.set("shop", settings: change)
        #expect(changed.buildSecretNames == ["NPM_TOKEN"] && changed.buildEnv == ["NODE_ENV": "production"])
        #expect(try store.appBuildEnvironment("shop").secrets == ["NPM_TOKEN": "rotated-npm-secret"])

        // Bad names, values and counts: 400, nothing stored.
        for edit: (inout AppSettings) -> Void in [
            { $0.env = ["WHARF_APP": "x"] }, { $0.secrets = ["LD_PRELOAD": "x"] }, { $0.env = ["9X": "x"] },
            { $0.env = ["A=B": "x"] }, { $0.secrets = ["": "x"] }, { $0.env = ["A": "a\u{0}b"] },
            { $0.secrets = ["BIG": String(repeating: "x", count: 40_000)] },
            { $0.env = ["N" + String(repeating: "x", count: 200): "x"] },
            { s in for i in 0..<65 { s.env["V\(i)"] = "x" } },
        ] {
            var bad = AppSettings()
            edit(&bad)
            #expect(throws: DeployError.self) { try service.set("shop", settings: bad) }
        }
        #expect(try service.show("shop") == changed)
        try FileManager.default.removeItem(atPath: box.keyPath)
        #expect(throws: (any Error).self) { try store.appBuildEnvironment("shop") }
    }

    @Test func hostNameChangesMoveTheAliasGeneration() throws {
        let (store, dir) = try Self.store()
        defer { dir.remove() }
        let service = AppRegistryService(store: store)
        let before = try store.aliasGeneration()
        _ = try service.add(
            "a",
            settings: {
                var s = AppSettings()
                s.hostnames = ["a.test"]
                return s
            }())
        let added = try store.aliasGeneration()
        #expect(added > before)
        _ = try service.set(
            "a",
            settings: {
                var s = AppSettings()
                s.targetType = "flutter_web"
                return s
            }())
        #expect(try store.aliasGeneration() == added)
        try service.remove("a")
        #expect(try store.aliasGeneration() > added)
    }

    @Test func downloadGlobsAreCheckedStoredAndMoveTheAliasGeneration() throws {
        let (store, dir) = try Self.store()
        defer { dir.remove() }
        let service = AppRegistryService(store: store)
        _ = try service.add("fw", settings: AppSettings())
        var generation = try store.aliasGeneration()
        let app = try service.set(
            "fw",
            settings: {
                var s = AppSettings()
                s.downloads = ["*.bin", "/releases/**", "*.bin"]
                return s
            }())
        #expect(app.downloads == ["*.bin", "/releases/**"], "duplicates dropped")
        #expect(try store.registeredDownloadPatterns() == ["fw": ["*.bin", "/releases/**"]])
        #expect(try store.aliasGeneration() > generation, "a running edge reloads its download rules")
        generation = try store.aliasGeneration()
        // Other settings leave the generation (and the globs) alone.
        _ = try service.set(
            "fw",
            settings: {
                var s = AppSettings()
                s.targetType = "flutter_android"
                return s
            }())
        #expect(try store.aliasGeneration() == generation)
        #expect(try store.registeredApp("fw")?.downloads == ["*.bin", "/releases/**"])

        for bad in [
            [""], ["a\nb"], ["/../etc/*"], ["a\\b"], ["/a//b"], [String(repeating: "x", count: 300)],
            [String(repeating: "*x", count: 9)], Array(repeating: "*.a", count: 33),
        ] {
            #expect(throws: DeployError.self, "\(bad)") {
                _ = try service.set(
                    "fw",
                    settings: {
                        var s = AppSettings()
                        s.downloads = bad
                        return s
                    }())
            }
        }
        #expect(try store.registeredApp("fw")?.downloads == ["*.bin", "/releases/**"], "a refused change stores nothing")
        #expect(try store.aliasGeneration() == generation)

        _ = try service.set(
            "fw",
            settings: {
                var s = AppSettings()
                s.downloads = []
                return s
            }())
        #expect(try store.registeredDownloadPatterns().isEmpty)
        #expect(try store.aliasGeneration() > generation)
        generation = try store.aliasGeneration()
        _ = try service.add(
            "pkg",
            settings: {
                var s = AppSettings()
                s.downloads = ["*.pkg"]
                return s
            }())
        #expect(try store.aliasGeneration() > generation)
        generation = try store.aliasGeneration()
        try service.remove("pkg")
        #expect(try store.aliasGeneration() > generation)
    }

    @Test func allowListsAndRetentionAreCheckedAndMatchByTypeOrExtension() throws {
        let (store, dir) = try Self.store()
        defer { dir.remove() }
        let service = AppRegistryService(store: store)
        var settings = AppSettings()
        settings.allowedTypes = ["Image/PNG", "text/*", ".APK", "image/png"]
        settings.keepDeployments = .some(5)
        settings.keepDays = .some(30)
        let app = try service.add("typed", settings: settings).app
        #expect(app.allowedTypes == ["image/png", "text/*", ".apk"])
        #expect(app.keepDeployments == 5 && app.keepDays == 30)
        let allowed = AllowedTypes(app.allowedTypes)
        for path in ["index.html", "a/b.css", "logo.png", "release/app.APK", "notes.txt"] { #expect(allowed.allows(path: path), "\(path)") }
        for path in ["app.js.map", "x.svg", "tool.exe", "README", "a.png.exe"] { #expect(!allowed.allows(path: path), "\(path)") }
        #expect(throws: DeployError.self) { try allowed.check(paths: ["index.html", "evil.exe"]) }
        #expect(AllowedTypes([]).allows(path: "anything.bin"))

        for bad: [String] in [
            ["*/*"], ["text"], ["text/html; charset=utf-8"], [".a/b"], ["."], [""], ["image/"], ["/png"],
            [String(repeating: "a", count: 200) + "/x"], Array(repeating: ".a", count: 65),
        ] {
            #expect(throws: DeployError.self, "\(bad)") {
                _ = try service.set(
                    "typed",
                    settings: {
                        var s = AppSettings()
                        s.allowedTypes = bad
                        return s
                    }())
            }
        }
        for (n, d) in [(0, 1), (10_001, 1), (1, 0), (1, 36_501), (-1, 1)] {
            #expect(throws: DeployError.self, "\(n) \(d)") {
                _ = try service.set(
                    "typed",
                    settings: {
                        var s = AppSettings()
                        s.keepDeployments = .some(n)
                        s.keepDays = .some(d)
                        return s
                    }())
            }
        }
        #expect(try store.registeredApp("typed") == app, "refused changes store nothing")
        let cleared = try service.set(
            "typed",
            settings: {
                var s = AppSettings()
                s.allowedTypes = []
                s.keepDeployments = .some(nil)
                s.keepDays = .some(nil)
                return s
            }())
        #expect(cleared.allowedTypes.isEmpty && cleared.keepDeployments == nil && cleared.keepDays == nil)
    }

    @Test func theRegistrySurvivesReopeningTheStore() throws {
        let dir = try TemporaryDirectory(prefix: "wharf-registry-reopen")
        defer { dir.remove() }
        do {
            let store = try Store.open(at: dir.path + "/store")
            _ = try AppRegistryService(store: store).add("kept", settings: AppSettings())
        }
        let again = try Store.open(at: dir.path + "/store")
        #expect(try again.registeredApp("kept")?.name == "kept")
    }
}
