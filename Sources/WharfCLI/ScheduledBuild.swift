import ArtifactStore
import Foundation
import Scheduler

/// A cron schedule that builds an app (`wharf cron add NAME EXPR --build APP`): its command is
/// `build:APP`, and each firing queues a build of the head of the app's registered git branch, as a
/// push would (the registry's URL, build command, output directory and type; the app's build
/// environment and secrets come with every build of it). An uploads-only app has nothing to build
/// and is refused when the schedule is added (and fails the firing if it became one since).
struct ScheduledBuild: Sendable {
    let store: Store
    /// The queue builds go to (the store's own, or the shared PostgreSQL one).
    let openQueue: @Sendable () throws -> JobQueue
    let defaults: JobSubmission.Defaults

    static let prefix = "build:"

    /// Why a schedule's build cannot be queued.
    struct Refusal: Error, CustomStringConvertible {
        var description: String
    }

    /// The schedule command for `app`, refused unless the app is registered with a git source.
    static func command(app: String, store: Store) throws -> String {
        _ = try gitSource(of: app, store: store)
        let command = prefix + app
        guard command.utf8.count <= 64 else { throw Refusal(description: "app name \"\(app)\" is too long for a schedule (at most 58 characters)") }
        return command
    }

    static func gitSource(of app: String, store: Store) throws -> (url: String, branch: String, app: RegisteredApp) {
        guard let registered = try store.registeredApp(app) else { throw Refusal(description: "app \"\(app)\" is not registered") }
        guard case .git(let url, let branch) = registered.source else {
            throw Refusal(description: "app \"\(app)\" has no git source (uploads only): there is nothing for a schedule to build")
        }
        return (url, branch, registered)
    }

    /// Queues one build of `app`'s branch head; returns the schedule's one-line result.
    func queue(app: String, schedule: String, now: Date) throws -> String {
        let (url, branch, registered) = try Self.gitSource(of: app, store: store)
        let ref = "refs/heads/" + branch
        let commit = try Self.head(url: url, ref: ref)
        let queue = try openQueue()
        var request = try JobSubmission.pushRequest(
            app: app, buildType: registered.targetType, source: try GitSource(url: url, commit: commit, ref: ref),
            command: registered.buildCommand, output: registered.outputDirectory, owner: "cron:\(schedule)", defaults: defaults,
            catalog: queue.configuration.catalog)
        request.kind = .manual
        let job = try queue.enqueue(request, now: now)
        return "queued job \(job.id): \(app) \(branch) at \(commit.prefix(12))"
    }

    /// The commit `ref` points at in the repository, by `git ls-remote` (bounded to 60 s, no
    /// prompts, the system and user git configuration ignored).
    static func head(url: String, ref: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "ls-remote", "--", url, ref]
        process.environment = [
            "PATH": "/usr/local/bin:/usr/bin:/bin", "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null", "HOME": NSTemporaryDirectory(),
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        // One ref asked for: a line of output, far below a pipe's buffer, so it is read after the exit.
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning {
            process.terminate()
            throw Refusal(description: "git ls-remote of the app's repository took over 60 s")
        }
        process.waitUntilExit()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        guard process.terminationStatus == 0 else { throw Refusal(description: "git ls-remote failed (exit \(process.terminationStatus))") }
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: "\t")
            if fields.count == 2, fields[1] == ref { return String(fields[0]) }
        }
        throw Refusal(description: "the repository has no branch \(ref.dropFirst("refs/heads/".count))")
    }
}
