import ArtifactStore
import Foundation
import Testing

/// The store's default variants of the demo app's text files, next to the reference command-line
/// tools on the same files: br within 3% of `brotli -q 11`, zstd within 3% of `zstd -19`, gzip
/// within 1% of `gzip -9` (`-n`: no file name in the header, as HTTP bodies have none).
@Suite struct DemoCompressionTests {
    static let references: [(coding: String, command: [String], tolerance: Double)] = [
        ("br", ["brotli", "-q", "11", "-c"], 0.03),
        ("zstd", ["zstd", "-19", "-q", "-c"], 0.03),
        ("gzip", ["gzip", "-9", "-n", "-c"], 0.01),
    ]

    /// Size of a tool's output for a file, found on PATH.
    static func toolSize(_ command: [String], file: String) throws -> Int {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command + [file]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw StoreError.io(path: file, reason: "\(command[0]) failed") }
        return data.count
    }

    @Test func defaultVariantsOfTheDemoAppMatchTheReferenceTools() throws {
        let scratch = ScratchDirectory("wharf-demo-compression")
        let store = try Store.open(at: scratch.path + "/store")
        let site = CommandLineTests.demoSite
        let started = Date()
        let report = try store.publish(PublishRequest(app: "demo", directory: site))
        let seconds = Date().timeIntervalSince(started)

        var ours: [String: Int] = [:]
        var theirs: [String: Int] = [:]
        var identity = 0
        var lines = ["file | identity | br (store / brotli -q 11) | zstd (store / zstd -19) | gzip (store / gzip -9 -n)"]
        for entry in report.deployment.files.values.sorted(by: { $0.path < $1.path }) where !entry.variants.isEmpty {
            identity += Int(entry.size)
            var line = "\(entry.path) | \(entry.size)"
            for reference in Self.references {
                let variant = try #require(entry.variant(coding: reference.coding), "\(entry.path) lacks \(reference.coding)")
                let tool = try Self.toolSize(reference.command, file: site + entry.path)
                ours[reference.coding, default: 0] += Int(variant.size)
                theirs[reference.coding, default: 0] += tool
                line += " | \(variant.size) / \(tool)"
            }
            lines.append(line)
        }
        var total = "total | \(identity)"
        for reference in Self.references {
            let mine = ours[reference.coding] ?? 0
            let tool = theirs[reference.coding] ?? 0
            total += " | \(mine) / \(tool)"
            #expect(
                Double(mine) <= Double(tool) * (1 + reference.tolerance),
                "\(reference.coding): store \(mine) bytes vs \(reference.command.joined(separator: " ")) \(tool) bytes")
        }
        lines.append(total)
        #expect(identity > 15_000)
        print(
            (lines + [String(format: "publish (in-process, debug build unless built with -c release): %.2f s", seconds)])
                .joined(separator: "\n"))
    }
}
