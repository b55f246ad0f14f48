import ArgumentParser
import ArtifactStore
import Deploy
import Foundation

/// `wharf gc`: retention, then removal of unreferenced blobs, files and temporaries.
struct GarbageCollectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc", abstract: "Apply retention and delete blobs no retained deployment uses.")

    @OptionGroup var store: StoreLocation

    func run() throws {
        let opened = try store.open()
        let report = try opened.collectGarbage()
        print(
            "removed \(report.deploymentsRemoved) deployments, \(report.blobsRemoved) blobs, "
                + "\(report.deltasRemoved) dcz deltas, \(report.orphanFilesRemoved) orphan files, \(report.temporaryFilesRemoved) temporary files; "
                + "freed \(ByteCount.format(report.bytesFreed))")
        // Uploads of deploys abandoned more than a day ago (sessions: a week).
        if FileManager.default.fileExists(atPath: opened.path + "/uploads") {
            let stale = try UploadArea(storePath: opened.path).sweep()
            if stale > 0 { print("removed \(stale) stale upload files") }
        }
    }
}

/// `wharf verify`: re-hashes everything; exit status 1 if any problem is found.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Re-hash every blob and check every manifest; non-zero exit on problems.")

    @OptionGroup var store: StoreLocation
    @Flag(help: "Also decode every variant and compare it with its source.") var deep = false

    func run() throws {
        let report = try store.open().verify(deep: deep)
        for problem in report.problems { print("problem: \(problem)") }
        print(
            "checked \(report.blobsChecked) blobs (\(ByteCount.format(report.bytesChecked))), "
                + "\(report.variantsChecked) variants, \(report.deltasChecked) dcz deltas, \(report.deploymentsChecked) deployments: "
                + (report.isHealthy ? "ok" : "\(report.problems.count) problems")
                + (report.garbageFiles > 0 ? " (\(report.garbageFiles) unreferenced files; run gc)" : ""))
        if !report.isHealthy { throw ExitCode(1) }
    }
}

/// `wharf store stats` (and later other store subcommands).
struct StoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store", abstract: "Inspect the artifact store.", subcommands: [StoreStatsCommand.self])
}

struct StoreStatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Blobs inline vs on disk, variants and their savings.")

    @OptionGroup var store: StoreLocation

    func run() throws {
        let stats = try store.open().stats()
        print("apps: \(stats.apps)  deployments: \(stats.deployments)")
        print("inline blobs: \(stats.inlineBlobs) (\(ByteCount.format(stats.inlineBytes)))")
        print("file blobs:   \(stats.fileBlobs) (\(ByteCount.format(stats.fileBytes)))")
        for v in stats.variants {
            let saved = String(format: "%.1f", v.savedFraction * 100)
            print(
                "\(v.coding.padding(toLength: 5, withPad: " ", startingAt: 0)) \(v.count) variants: "
                    + "\(ByteCount.format(v.originalBytes)) -> \(ByteCount.format(v.encodedBytes)) (\(saved)% saved)")
        }
        // Deltas against the smallest br/zstd variant a browser without the old version gets.
        let saved = stats.deltaBaselineBytes == 0 ? 0 : Double(stats.deltaBytesSaved) / Double(stats.deltaBaselineBytes) * 100
        print(
            "dcz   \(stats.deltas) deltas: \(ByteCount.format(stats.deltaBaselineBytes)) br/zstd -> "
                + "\(ByteCount.format(stats.deltaBytes)) (\(String(format: "%.1f", saved))% saved)")
    }
}
