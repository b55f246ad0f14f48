import Compression
import Foundation
import GRDB
import Testing

@testable import ArtifactStore

/// Publish-time RFC 9842 deltas: which pairs are built, what is kept, how they decode, gc, stats.
@Suite struct DeltaTests {
    /// A deployment directory with a hashed script and stylesheet, an unhashed script and a page.
    static func writeSite(_ dir: TemporaryDirectory, version: Int, scriptHash: String, styleHash: String) throws -> String {
        let site = "site\(version)"
        try dir.write("\(site)/index.html", "<script src=/assets/app.\(scriptHash).js></script> v\(version)")
        try dir.write("\(site)/assets/app.\(scriptHash).js", script(version: version))
        try dir.write("\(site)/assets/style.\(styleHash).css", style(version: version))
        try dir.write("\(site)/plain.js", script(version: version))
        return dir.path + "/" + site
    }

    /// 60 KB of script where each version changes one line in the middle.
    static func script(version: Int) -> [UInt8] {
        var text = Fixture.text(60_000, seed: 5)
        text.replaceSubrange(30_000..<30_000, with: Array("\nconsole.log('release \(version)');\n".utf8))
        return text
    }

    static func style(version: Int) -> [UInt8] {
        var css = ""
        for i in 0..<800 { css += ".item-\(i) { margin: \(i % 13)px; color: #\(String(i * 2_654_435 % 0xFFFFFF, radix: 16)); }\n" }
        css += ".banner { content: 'v\(version)'; }\n"
        return Array(css.utf8)
    }

    @Test func aNewVersionOfAHashedAssetGetsADczDeltaAgainstThePreviousOneThatTheZstdCLIDecodes() throws {
        let dir = TemporaryDirectory()
        let store = try Store.openForTest(dir)
        let v1 = try store.publish(
            PublishRequest(app: "web", directory: try Self.writeSite(dir, version: 1, scriptHash: "a1b2c3d4e5", styleHash: "0badc0de01")))
        #expect(v1.deltasCreated == 0)
        let v2 = try store.publish(
            PublishRequest(app: "web", directory: try Self.writeSite(dir, version: 2, scriptHash: "f6e7d8c9b0", styleHash: "0badc0de02")))
        #expect(v2.deltasCreated == 2)

        let old = try #require(v1.deployment.files["/assets/app.a1b2c3d4e5.js"])
        let new = try #require(v2.deployment.files["/assets/app.f6e7d8c9b0.js"])
        let delta = try #require(new.deltas.first)
        #expect(new.deltas.count == 1)
        #expect(delta.dictionaryHash == old.blobHash)
        #expect(delta.coding == "dcz")
        #expect(delta.etag != new.etag && !new.variants.contains { $0.etag == delta.etag })
        let br = try #require(new.variant(coding: "br"))
        #expect(delta.size * 10 <= br.size, "dcz \(delta.size) vs br \(br.size)")

        // The real zstd CLI, given the old bytes as the dictionary, restores the new bytes exactly.
        let body = try store.readBytes(new, coding: nil)
        let deltaBytes: [UInt8]
        switch try store.body(hash: delta.hash) {
        case .bytes(let bytes): deltaBytes = bytes
        case .file(let path, _, _): deltaBytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        }
        #expect(Array(deltaBytes.prefix(8)) == DictionaryZstd.headerPrefix)
        #expect(Array(deltaBytes[8..<40]) == DeltaBuilder.bytes(hex: old.blobHash))
        let dictionaryPath = try dir.write("old.js", try store.readBytes(old))
        let framePath = try dir.write("delta.zst", Array(deltaBytes[40...]))
        let outPath = dir.path + "/decoded.js"
        let zstd = Process()
        zstd.executableURL = URL(fileURLWithPath: "/bin/sh")
        zstd.arguments = ["-c", "zstd -q -d -D '\(dictionaryPath)' -c '\(framePath)' > '\(outPath)'"]
        try zstd.run()
        zstd.waitUntilExit()
        #expect(zstd.terminationStatus == 0)
        #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: outPath))) == body)

        // Versioned script and style advertise themselves as dictionaries; other files do not.
        #expect(new.useAsDictionary == #"match="app.*.js", match-dest=("script")"#)
        #expect(v2.deployment.files["/assets/style.0badc0de02.css"]?.useAsDictionary == #"match="style.*.css", match-dest=("style")"#)
        #expect(v2.deployment.files["/plain.js"]?.useAsDictionary == nil)
        #expect(v2.deployment.files["/plain.js"]?.deltas == [])
        #expect(v2.deployment.files["/index.html"]?.useAsDictionary == nil)
        #expect(try store.verify(deep: true).isHealthy)
        #expect(try store.verify(deep: true).deltasChecked == 2)
    }

    @Test func deltasReachBackTheConfiguredNumberOfDeploymentsAndArentRebuilt() throws {
        let dir = TemporaryDirectory()
        let store = try Store.openForTest(dir) { $0.deltaDepth = 2 }
        let hashes = ["1111aaaa11", "2222bbbb22", "3333cccc33", "4444dddd44"]
        var reports: [PublishReport] = []
        for (index, hash) in hashes.enumerated() {
            reports.append(
                try store.publish(
                    PublishRequest(
                        app: "web",
                        directory: try Self.writeSite(
                            dir, version: index + 1, scriptHash: hash, styleHash: "5555eeee0\(index)"))))
        }
        // v3 against v2 and v1, v4 against v3 and v2 (depth 2), for script and style each.
        #expect(reports.map(\.deltasCreated) == [0, 2, 4, 4])
        let v4 = try #require(reports[3].deployment.files["/assets/app.4444dddd44.js"])
        let dictionaries = Set(v4.deltas.map(\.dictionaryHash))
        #expect(
            dictionaries == [
                reports[2].deployment.files["/assets/app.3333cccc33.js"]!.blobHash,
                reports[1].deployment.files["/assets/app.2222bbbb22.js"]!.blobHash,
            ])
        // Republishing the same bytes builds nothing new.
        let again = try store.publish(PublishRequest(app: "web", directory: dir.path + "/site4"))
        #expect(again.deltasCreated == 0)
    }

    @Test func aDeltaThatDoesNotBeatBrOrZstdIsNotKept() throws {
        let dir = TemporaryDirectory()
        let store = try Store.openForTest(dir)
        try dir.write("a/lib.0123abcd99.js", Fixture.text(20_000, seed: 1))
        try store.publish(PublishRequest(app: "web", directory: dir.path + "/a"))
        // Entirely different, incompressible content: the old version helps nothing.
        try dir.write("b/lib.9876fedc11.js", Fixture.randomBytes(20_000, seed: 3))
        let report = try store.publish(PublishRequest(app: "web", directory: dir.path + "/b"))
        #expect(report.deltasCreated == 0)
        #expect(try store.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM deltas") } == 0)
    }

    @Test func anAppPublishedWithDictionariesOffGetsNoDeltasAndNoAdvertisement() throws {
        let dir = TemporaryDirectory()
        let store = try Store.openForTest(dir)
        try store.publish(
            PublishRequest(app: "web", directory: try Self.writeSite(dir, version: 1, scriptHash: "a1b2c3d4e5", styleHash: "0badc0de01")))
        let off = try store.publish(
            PublishRequest(
                app: "web", directory: try Self.writeSite(dir, version: 2, scriptHash: "f6e7d8c9b0", styleHash: "0badc0de02"),
                metadata: [DictionarySetting.metadataKey: "off"]))
        #expect(off.deltasCreated == 0)
        #expect(off.deployment.files.values.allSatisfy { $0.useAsDictionary == nil && $0.deltas.isEmpty })
        // The store-wide switch does the same for every app.
        let dir2 = TemporaryDirectory()
        let store2 = try Store.openForTest(dir2) { $0.dictionaryDeltas = false }
        try store2.publish(
            PublishRequest(app: "web", directory: try Self.writeSite(dir2, version: 1, scriptHash: "a1b2c3d4e5", styleHash: "0badc0de01")))
        #expect(
            try store2.publish(
                PublishRequest(app: "web", directory: try Self.writeSite(dir2, version: 2, scriptHash: "f6e7d8c9b0", styleHash: "0badc0de02"))
            ).deltasCreated == 0)
    }

    @Test func gcRemovesDeltasWhoseDictionaryOrSourceLeftRetentionAndStatsCountTheRest() throws {
        let dir = TemporaryDirectory()
        let store = try Store.openForTest(dir) { $0.retainedDeploymentsPerApp = 2 }
        for (index, hash) in ["1111aaaa11", "2222bbbb22", "3333cccc33"].enumerated() {
            try store.publish(
                PublishRequest(
                    app: "web",
                    directory: try Self.writeSite(
                        dir, version: index + 1, scriptHash: hash, styleHash: "5555eeee0\(index)")))
        }
        // v2 has deltas against v1; v3 against v2 and v1. Retention keeps v2 and v3 only.
        let before = try store.stats()
        #expect(before.deltas == 6)
        let report = try store.collectGarbage()
        #expect(report.deltasRemoved == 4)  // v2→v1 and v3→v1, script and style
        let after = try store.stats()
        #expect(after.deltas == 2)
        #expect(after.deltaBytes > 0 && after.deltaBytesSaved > 0 && after.deltaBaselineBytes > after.deltaBytes * 5)
        let remaining = try store.pool.read { db in try String.fetchAll(db, sql: "SELECT blob_hash FROM deltas") }
        for hash in remaining { _ = try store.body(hash: hash) }
        #expect(try store.verify(deep: true).isHealthy)
        // Nothing refers to the removed deltas' blobs any more: they are gone too.
        let orphans = try store.pool.read { db in
            try Int.fetchOne(
                db,
                sql: """
                    SELECT count(*) FROM blobs WHERE hash NOT IN (SELECT blob_hash FROM files)
                    AND hash NOT IN (SELECT blob_hash FROM variants) AND hash NOT IN (SELECT blob_hash FROM deltas)
                    """)
        }
        #expect(orphans == 0)
        #expect(try store.collectGarbage().deltasRemoved == 0)
    }

    @Test func aListedPathThatKeepsItsNameGetsDeltasAgainstItsEarlierVersionsAndTheListIsSticky() throws {
        let dir = TemporaryDirectory()
        let store = try Store.openForTest(dir)
        func publish(_ version: Int, metadata: [String: String] = [:]) throws -> PublishReport {
            try dir.write("s\(version)/main.dart.js", Self.script(version: version))
            try dir.write("s\(version)/other.js", Self.script(version: version + 100))
            return try store.publish(PublishRequest(app: "flutter", directory: dir.path + "/s\(version)", metadata: metadata))
        }
        let first = try publish(1, metadata: [DictionarySetting.pathsKey: "/main.dart.js, /bad path, relative.js"])
        #expect(first.deployment.files["/main.dart.js"]?.useAsDictionary == #"match="main.dart.js", match-dest=("script")"#)
        #expect(first.deployment.files["/other.js"]?.useAsDictionary == nil)
        let second = try publish(2)  // no list given: the app's last one applies
        #expect(second.deployment.metadata[DictionarySetting.pathsKey] == "/main.dart.js, /bad path, relative.js")
        #expect(second.deltasCreated == 1)
        let entry = try #require(second.deployment.files["/main.dart.js"])
        #expect(entry.deltas.map(\.dictionaryHash) == [first.deployment.files["/main.dart.js"]!.blobHash])
        #expect(second.deployment.files["/other.js"]?.deltas == [])
        #expect(try store.verify(deep: true).isHealthy)
        #expect(DictionarySetting.listedPaths(metadata: second.deployment.metadata) == ["/main.dart.js"])
        #expect(DictionaryPattern.exact(path: "/a/b.js")?.relative == "b.js")
        for hostile in ["", "/", "/a/", "a.js", "/a b.js", "/a*.js", "/a:b.js", "//x.js", "/caf\u{E9}.js"] {
            #expect(DictionaryPattern.exact(path: hostile) == nil, "\(hostile)")
        }
    }

    @Test func patternsComeFromHashedNamesAndRefuseAnythingAURLPatternWouldRead() throws {
        let regex = try Regex(CachePolicy.defaultHashedNamePattern)
        func pattern(_ path: String) -> String? { DictionaryPattern.of(path: path, hashedName: regex)?.absolute }
        #expect(pattern("/assets/app.3f9a1c2e.js") == "/assets/app.*.js")
        #expect(pattern("/assets/index-B5x_q9Ka.js") == "/assets/index-*.js")
        #expect(pattern("/main.3f9a1c2e.chunk.js") == nil, "the default pattern wants the hash right before the extension")
        #expect(DictionaryPattern.of(path: "/a/b/app.3f9a1c2e.js", hashedName: regex)?.relative == "app.*.js")
        #expect(pattern("/assets/app.js") == nil)
        #expect(pattern("/assets/.3f9a1c2e.js") == nil)
        #expect(pattern("/assets/a:b.3f9a1c2e.js") == nil)
        #expect(pattern("/assets/a(b).3f9a1c2e.js") == nil)
        #expect(pattern("/as*ets/app.3f9a1c2e.js") == nil)
        #expect(pattern("/assets/app+x.3f9a1c2e.js") == nil)
        #expect(pattern("/assets/caf\u{E9}.3f9a1c2e.js") == nil)
        #expect(pattern("/assets/a\"b.3f9a1c2e.js") == nil)
        #expect(pattern("relative/app.3f9a1c2e.js") == nil)
        #expect(pattern("/" + String(repeating: "a/", count: 600) + "app.3f9a1c2e.js") == nil)
    }
}
