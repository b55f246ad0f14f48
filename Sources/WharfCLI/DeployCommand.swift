import ArgumentParser
import Deploy
import Foundation
import Glibc

/// `wharf deploy DIR --app A --to URL`: the CI client of the upload API. Hashes the tree, sends
/// the manifest, uploads only the blobs the server lacks (so re-running an interrupted deploy
/// resumes it), finalizes, and prints the deployment id then the app's URLs on stdout.
struct DeployCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy", abstract: "Upload a built directory to a Wharf admin API and publish it.")

    @Argument(help: "Directory to deploy (a build output such as dist/).") var directory: String
    @Option(help: "App name (registered with `wharf apps add`).") var app: String
    @Option(help: "The admin API's base URL, e.g. https://wharf.example.test:8081") var to: String
    @Option(help: "Deploy token (else --token-file, else $WHARF_DEPLOY_TOKEN).") var token: String?
    @Option(help: "File holding the deploy token.") var tokenFile: String?
    @Flag(help: "Switch the app's alias to the new deployment.") var promote = false
    @Option(help: "Version label to record.") var version: String?
    @Option(help: "Message to record.") var message: String?
    @Option(help: "Retries per request on transient failures.") var retries: Int = 4
    @Option(help: "Blob uploads at once (1–16).") var parallel: Int = 4

    func resolvedToken() throws -> String {
        if let token { return token }
        if let tokenFile {
            guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) else {
                throw ValidationError("cannot read --token-file \(tokenFile)")
            }
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if let env = ProcessInfo.processInfo.environment["WHARF_DEPLOY_TOKEN"], !env.isEmpty { return env }
        throw ValidationError("a token is required: --token, --token-file or $WHARF_DEPLOY_TOKEN")
    }

    func run() async throws {
        guard (1...16).contains(parallel) else { throw ValidationError("--parallel must be 1–16") }
        guard let base = URL(string: to), base.scheme == "https" || base.scheme == "http", base.host != nil else {
            throw ValidationError("--to must be an http(s) URL, got '\(to)'")
        }
        let client = DeployClient(base: base, app: app, token: try resolvedToken(), retries: max(0, retries))
        let progress = DeployProgress(terminal: isatty(2) == 1)
        let tree = try DeployTree.scan(directory)
        progress.line("hashed \(tree.files.count) files (\(tree.totalBytes) bytes)")
        var manifest = tree.manifest
        manifest.version = version
        manifest.message = message
        do {
            let opened = try await client.post("", json: manifest)
            guard let id = opened["id"] as? String, let missing = opened["missing"] as? [String] else {
                throw DeployClient.Failure(status: nil, message: "unexpected answer to the manifest")
            }
            let byHash = tree.fileByHash
            let bytes = missing.compactMap { byHash[$0]?.size }.reduce(0, +)
            progress.line("session \(id): \(missing.count) of \(manifest.blobs.count) blobs to upload (\(bytes) bytes)")
            // Up to --parallel uploads at once, each on its own connection. Children never throw
            // and the group is never cancelled: cancelling a task inside URLSession's async calls
            // can deadlock corelibs Foundation (a cancel waiting on the session's queue while that
            // queue waits on the task's status lock, seen as a deploy that never exits after its
            // server died). After the first failure no new upload starts; the running ones end.
            let files = missing.compactMap { byHash[$0] }
            var sent: Int64 = 0
            var uploaded = 0
            var firstFailure: (any Error)?
            await withTaskGroup(of: Result<DeployTree.File, any Error>.self) { group in
                var next = 0
                func startNext() {
                    guard next < files.count, firstFailure == nil else { return }
                    let file = files[next]
                    next += 1
                    group.addTask {
                        do {
                            _ = try await client.putBlob(session: id, hash: file.sha256, file: file.localPath)
                            return .success(file)
                        } catch {
                            return .failure(error)
                        }
                    }
                }
                for _ in 0..<max(1, parallel) { startNext() }
                while let result = await group.next() {
                    switch result {
                    case .success(let file):
                        uploaded += 1
                        sent += file.size
                        progress.step(done: uploaded, total: files.count, bytes: sent, of: bytes, name: file.path)
                    case .failure(let error):
                        if firstFailure == nil { firstFailure = error }
                    }
                    startNext()
                }
            }
            if let firstFailure { throw firstFailure }
            progress.finish()
            struct Finalize: Encodable { var promote: Bool }
            var done: [String: Any]
            do {
                done = try await client.post("/\(id)/finalize", json: Finalize(promote: promote), timeout: 3600)
            } catch let failure as DeployClient.Failure where failure.status == 409 && failure.deployment != nil {
                // A retried finalize whose first attempt went through: the session names its deployment.
                done = ["deployment": failure.deployment as Any]
            }
            guard let deployment = done["deployment"] as? String else {
                throw DeployClient.Failure(status: nil, message: "unexpected answer to finalize")
            }
            print(deployment)
            for url in done["urls"] as? [String] ?? [] { print(url) }
            progress.line("deployed \(app) as \(deployment)\(promote ? " (live)" : " (not promoted)"); uploaded \(missing.count) blobs")
        } catch let failure as DeployClient.Failure {
            FileHandle.standardError.write(Data("wharf: deploy failed: \(failure)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// Progress on stderr: a bar redrawn in place on a terminal, plain lines otherwise.
struct DeployProgress {
    let terminal: Bool

    func line(_ text: String) {
        FileHandle.standardError.write(Data("wharf: \(text)\n".utf8))
    }

    func step(done: Int, total: Int, bytes: Int64, of totalBytes: Int64, name: String) {
        if terminal {
            let width = 30
            let filled = total == 0 ? width : width * done / total
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            FileHandle.standardError.write(Data("\r[\(bar)] \(done)/\(total) blobs, \(bytes)/\(totalBytes) bytes".utf8))
        } else {
            line("uploaded \(done)/\(total): \(name)")
        }
    }

    func finish() {
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
