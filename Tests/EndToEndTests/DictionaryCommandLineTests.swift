import ArtifactStore
import Foundation
import Testing

/// The `wharf` commands around RFC 9842 deltas: publish builds them, `store stats` and `gc` report
/// them, `--dictionaries off` turns them off for an app until `--dictionaries on`.
@Suite struct DictionaryCommandLineTests {
    /// A site whose bundle changes one line per version, under a content-hashed name.
    static func writeVersion(_ scratch: ScratchDirectory, _ version: Int) throws -> String {
        var js = ""
        for i in 0..<1500 { js += "export const v\(i) = \"value-\(i * 31 % 1000)\";\n" }
        js += "export const release = \(version);\n"
        let name = String(format: "app.%08x.js", version * 0x1234567 + 0x1000_0000)
        try scratch.write("v\(version)/index.html", "<script type=module src=\"assets/\(name)\"></script>")
        try scratch.write("v\(version)/assets/\(name)", js)
        return scratch.path + "/v\(version)"
    }

    @Test func publishBuildsDeltasStatsShowThemAndTheSwitchIsStickyPerApp() throws {
        let scratch = ScratchDirectory("wharf-cli-dcz")
        let store = scratch.path + "/store"
        func publish(_ version: Int, _ extra: [String] = []) throws -> String {
            let r = try WharfProcess.run(["publish", "web", try Self.writeVersion(scratch, version), "--store", store] + extra)
            #expect(r.status == 0, "\(r.stderr)")
            return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        _ = try publish(1)
        let second = try publish(2)
        let stats = try WharfProcess.run(["store", "stats", "--store", store])
        #expect(stats.status == 0)
        #expect(stats.stdout.contains("dcz   1 deltas:"), "\(stats.stdout)")
        let opened = try Store.open(at: store)
        #expect(try opened.deployment(id: second)?.files.values.contains { !$0.deltas.isEmpty } == true)

        let off = try publish(3, ["--dictionaries", "off"])
        let inherited = try publish(4)
        for id in [off, inherited] {
            let manifest = try #require(try Store.open(at: store).deployment(id: id))
            #expect(manifest.files.values.allSatisfy { $0.deltas.isEmpty && $0.useAsDictionary == nil })
        }
        let on = try publish(5, ["--dictionaries", "on"])
        #expect(try Store.open(at: store).deployment(id: on)?.files.values.contains { !$0.deltas.isEmpty } == true)
        #expect(try WharfProcess.run(["publish", "web", scratch.path + "/v5", "--store", store, "--dictionaries", "maybe"]).status != 0)

        let verify = try WharfProcess.run(["verify", "--deep", "--store", store])
        #expect(verify.status == 0, "\(verify.stdout)")
        #expect(verify.stdout.contains("dcz deltas"))
        let gc = try WharfProcess.run(["gc", "--store", store])
        #expect(gc.status == 0)
        #expect(gc.stdout.contains("dcz deltas"))
    }
}
