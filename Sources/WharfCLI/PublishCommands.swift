import ArgumentParser
import ArtifactStore
import Foundation
import Glibc

/// `wharf publish APP DIR`: stores a built directory as a new deployment and switches the
/// app's alias to it. Prints the deployment id (and only that) on stdout.
struct PublishCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish", abstract: "Publish a built directory as a new deployment of APP.")

    @OptionGroup var store: StoreLocation
    @Argument(help: "App name: a lower-case slug (a-z, 0-9, '-').") var app: String
    @Argument(help: "Directory to publish (a build output such as dist/).") var directory: String
    @Option(help: "Version label to record.") var version: String?
    @Option(help: "Message to record.") var message: String?
    @Option(name: .customLong("meta"), help: "Source metadata KEY=VALUE (repeatable), e.g. commit=3f9a1c2.")
    var metadata: [String] = []
    @Option(help: "Blobs up to this many bytes are stored inline in SQLite, larger ones as files (default 51200).")
    var inlineThreshold: Int?
    @Option(help: "RFC 9842 dictionaries for this app: on or off. Sticky: later publishes keep the last value (default on).")
    var dictionaries: String?
    @Option(help: "Deltas are made against the app's last N deployments (default 2).")
    var deltaDepth: Int?
    @Option(
        name: .customLong("dictionary-path"),
        help:
            "A URL path whose name stays the same across deployments (e.g. /main.dart.js) to offer as a dictionary and delta-encode (repeatable; sticky)."
    )
    var dictionaryPaths: [String] = []

    func run() throws {
        var pairs: [String: String] = [:]
        for item in metadata {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw ValidationError("--meta expects KEY=VALUE, got '\(item)'")
            }
            pairs[String(item[..<eq])] = String(item[item.index(after: eq)...])
        }
        if let dictionaries {
            guard dictionaries == "on" || dictionaries == "off" else {
                throw ValidationError("--dictionaries expects on or off, got '\(dictionaries)'")
            }
            pairs[DictionarySetting.metadataKey] = dictionaries
        }
        if !dictionaryPaths.isEmpty {
            for path in dictionaryPaths where DictionaryPattern.exact(path: path) == nil {
                throw ValidationError("--dictionary-path expects a URL path of A-Z a-z 0-9 . _ ~ - and /, got '\(path)'")
            }
            pairs[DictionarySetting.pathsKey] = dictionaryPaths.joined(separator: ",")
        }
        var options = StoreOptions()
        if let inlineThreshold { options.inlineThreshold = inlineThreshold }
        if let deltaDepth { options.deltaDepth = deltaDepth }
        let opened = try store.open(options: options)
        let showProgress = isatty(2) == 1
        let report = try opened.publish(
            PublishRequest(app: app, directory: directory, version: version, message: message, metadata: pairs),
            progress: showProgress ? ProgressLine.show : nil)
        if showProgress { ProgressLine.clear() }
        print(report.deployment.id)
        if showProgress {
            ProgressLine.write(
                "published \(app) (\(report.deployment.files.count) files, \(report.newBlobs) new blobs, "
                    + "\(report.variantsCreated) variants, \(report.deltasCreated) dcz deltas) in \(String(format: "%.2f", report.seconds))s\n")
        }
    }
}

/// `wharf deployments APP`: retained deployments, newest first; `*` marks the aliased one.
struct DeploymentsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deployments", abstract: "List an app's deployments (newest first, * = current).")

    @OptionGroup var store: StoreLocation
    @Argument(help: "App name.") var app: String

    func run() throws {
        let list = try store.open().deployments(app: app)
        if list.isEmpty { throw ValidationError("app '\(app)' has no deployments") }
        for d in list {
            let created = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(d.createdAt) / 1000))
            let fields = [
                d.isCurrent ? "*" : " ", d.id, created, "\(d.fileCount) files", ByteCount.format(d.totalSize),
                d.version ?? "-", d.message ?? "",
            ]
            print(fields.joined(separator: "  "))
        }
    }
}

/// `wharf rollback APP [ID]`: points the alias at ID, or at the deployment before the current one.
struct RollbackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback", abstract: "Point APP's alias at an earlier deployment (default: the previous one).")

    @OptionGroup var store: StoreLocation
    @Argument(help: "App name.") var app: String
    @Argument(help: "Deployment id (default: the one before the current).") var id: String?

    func run() throws {
        let target = try store.open().rollback(app: app, to: id)
        print(target)
    }
}

/// One rewritten status line on stderr while a publish runs on a terminal.
enum ProgressLine {
    @Sendable static func show(_ progress: PublishProgress) {
        write("\r\u{1B}[K\(progress.phase.rawValue) \(progress.done)/\(progress.total)")
    }

    static func clear() { write("\r\u{1B}[K") }

    static func write(_ text: String) {
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}
