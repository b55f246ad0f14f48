import Foundation
import Testing
import WharfTestSupport

@testable import Scheduler

@Suite struct BuildCacheTests {
    func makeSource() throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory()
        try dir.file("src/main.js", "console.log('hi')\n")
        try dir.file("index.html", "<script src=main.js></script>\n")
        try dir.file("package-lock.json", "{\"lockfileVersion\": 3}\n")
        return dir
    }

    func key(
        _ dir: TemporaryDirectory, config: [String: String] = ["command": "npm run build"],
        target: String = "web", toolchain: String = "node 20.11"
    ) throws -> String {
        try BuildCacheKey(sourceDirectory: dir.path, buildConfig: config, target: target, toolchainVersion: toolchain).hex
    }

    @Test func theKeyIsStableForTheSameInputs() throws {
        let dir = try makeSource()
        defer { dir.remove() }
        let first = try key(dir)
        #expect(first.count == 64)
        #expect(first.allSatisfy { $0.isHexDigit && !$0.isUppercase })
        #expect(try key(dir) == first)
        // Installed dependencies and VCS data do not change the key.
        try dir.file("node_modules/left-pad/index.js", "module.exports = 1")
        try dir.file(".git/HEAD", "ref: refs/heads/main")
        #expect(try key(dir) == first)
        // Config order does not matter.
        let a = BuildCacheKey.hashConfig(["a": "1", "b": "2"])
        #expect(a == BuildCacheKey.hashConfig(["b": "2", "a": "1"]))
    }

    @Test func theKeyChangesWithEachInput() throws {
        let dir = try makeSource()
        defer { dir.remove() }
        let base = try key(dir)
        #expect(try key(dir, config: ["command": "npm run build:prod"]) != base)
        #expect(try key(dir, target: "android") != base)
        #expect(try key(dir, toolchain: "node 22.1") != base)
        try dir.file("yarn.lock", "# yarn\n")
        let withYarn = try key(dir)
        #expect(withYarn != base, "a new lock file changes the dependency hash")
        try dir.file("src/main.js", "console.log('bye')\n")
        #expect(try key(dir) != withYarn, "source content changes the key")
        try dir.file("src/new.js", "")
        let withEmptyFile = try key(dir)
        try FileManager.default.moveItem(atPath: dir.path + "/src/new.js", toPath: dir.path + "/src/renamed.js")
        #expect(try key(dir) != withEmptyFile, "a rename changes the key")
    }

    @Test func fieldBoundariesCannotBeShifted() {
        let a = BuildCacheKey(sourceTreeHash: "ab", buildConfigHash: "c", dependencyLockHash: "", target: "t", toolchainVersion: "v")
        let b = BuildCacheKey(sourceTreeHash: "a", buildConfigHash: "bc", dependencyLockHash: "", target: "t", toolchainVersion: "v")
        #expect(a.hex != b.hex)
    }

    @Test func theDependencyHashSeesOnlyLockFiles() throws {
        let dir = try makeSource()
        defer { dir.remove() }
        let before = try SourceTreeHasher.dependencyLockHash(directory: dir.path)
        try dir.file("src/other.js", "x")
        #expect(try SourceTreeHasher.dependencyLockHash(directory: dir.path) == before)
        try dir.file("pubspec.lock", "packages: {}")
        #expect(try SourceTreeHasher.dependencyLockHash(directory: dir.path) != before)
    }

    @Test func aMissingSourceDirectoryIsAClearError() throws {
        #expect(throws: SourceTreeHasher.HashError.notADirectory("/nonexistent/wharf-src")) {
            try SourceTreeHasher.hash(directory: "/nonexistent/wharf-src")
        }
    }

    @Test func aHitWithinTheTTLAndAMissAfterIt() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = try SchedulerDatabase.open(path: dir.path + "/scheduler.sqlite")
        let cache = try BuildCache(database: db)
        let k = BuildCacheKey(sourceTreeHash: "s", buildConfigHash: "c", dependencyLockHash: "d", target: "web", toolchainVersion: "1")
        #expect(try cache.lookup(k, now: t0) == nil)
        try cache.insert(k, app: "shop", deploymentID: "dep-7", now: t0)
        let hit = try #require(try cache.lookup(k, now: t0.addingTimeInterval(6 * 86400)))
        #expect(hit.deploymentID == "dep-7")
        #expect(hit.hits == 1)
        #expect(try cache.lookup(k, now: t0.addingTimeInterval(7 * 86400 + 1)) == nil, "past the 7-day TTL")
        #expect(try cache.retainedDeploymentIDs() == ["dep-7"], "kept until retention ends")
        #expect(try cache.prune(now: t0.addingTimeInterval(29 * 86400)) == 0)
        #expect(try cache.prune(now: t0.addingTimeInterval(30 * 86400)) == 1)
        #expect(try cache.retainedDeploymentIDs().isEmpty)
    }

    @Test func aRebuildReplacesTheEntry() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let cache = try BuildCache(database: try SchedulerDatabase.open(path: dir.path + "/scheduler.sqlite"))
        let k = BuildCacheKey(sourceTreeHash: "s", buildConfigHash: "c", dependencyLockHash: "d", target: "web", toolchainVersion: "1")
        try cache.insert(k, app: "shop", deploymentID: "old", now: t0)
        try cache.insert(k, app: "shop", deploymentID: "new", now: t0.addingTimeInterval(8 * 86400))
        #expect(try cache.lookup(k, now: t0.addingTimeInterval(9 * 86400))?.deploymentID == "new")
        #expect(throws: SchedulerError.self) { try BuildCache(database: cache.database, ttl: 10, retention: 5) }
    }
}
