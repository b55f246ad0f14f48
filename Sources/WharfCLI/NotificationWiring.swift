import ArtifactStore
import Foundation
import Scheduler
import Synchronization

/// Deploy notifications: every finished build (not warm builds) and every upload-API finalize of an
/// app with `notify` URLs becomes a row per URL in the durable outbox (`DeployNotifier`), sent with
/// retries and backoff. Finished builds are found by a scan every second of `scheduler.sqlite`
/// (jobs not yet noted), so a build that finished while no Wharf was running is still told about,
/// once, whichever process (edge or scheduler) notes it first.
final class NotificationWiring: Sendable {
    let notifier: DeployNotifier
    let store: Store
    let logRoot: String
    let urls: @Sendable (RegisteredApp) -> [String]
    private let log: @Sendable (String) -> Void
    private let scanner = Mutex<Task<Void, Never>?>(nil)
    /// This process's handle on the store's job queue (also used by the hook and status routes).
    let queue: JobQueue

    init(
        store: Store, storePath: String, settings: SchedulerConfiguration, logRoot: String,
        urls: @escaping @Sendable (RegisteredApp) -> [String], log: @escaping @Sendable (String) -> Void
    ) throws {
        queue = try SchedulerFiles.openQueue(store: storePath, settings: settings)
        notifier = DeployNotifier(database: queue.database, log: log)
        self.store = store
        self.logRoot = logRoot
        self.urls = urls
        self.log = log
    }

    func start() {
        notifier.start()
        scanner.withLock { task in
            guard task == nil else { return }
            task = Task.detached { [self] in
                while !Task.isCancelled {
                    scan()
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        }
    }

    func stop() {
        scanner.withLock {
            $0?.cancel()
            $0 = nil
        }
        notifier.stop()
    }

    /// Notes finished jobs: a notification for apps with targets, a mark for every job.
    func scan() {
        do {
            for id in try notifier.finishedJobsToNote() {
                let job = try queue.get(id)
                let app = try store.registeredApp(job.app)
                let targets = app?.notify ?? []
                let notification = targets.isEmpty || app == nil ? nil : notification(for: job, app: app!)
                if try notifier.enqueue(job: id, notification, targets: targets) > 0 { notifier.wake() }
            }
        } catch {
            log("notify: cannot scan finished builds: \(error)")
        }
    }

    func notification(for job: Job, app: RegisteredApp) -> DeployNotification {
        let git = GitSource(encoded: job.source)
        let commitText = git.map { " (commit \($0.commit.prefix(12)) on \($0.ref.replacingOccurrences(of: "refs/heads/", with: "")))" } ?? ""
        if job.state == .succeeded {
            let live = (try? store.currentDeploymentID(app: app.name)) == job.deploymentID
            let state = live ? "live" : "published"
            let appURLs = urls(app)
            let text =
                "✅ \(app.name): build \(job.id) deployed \(job.deploymentID ?? "")\(commitText), \(state)" + (appURLs.first.map { " at \($0)" } ?? "")
            return DeployNotification(
                event: "deploy.succeeded", text: text, app: app.name, deployment: job.deploymentID, state: state,
                source: "push", job: job.id, commit: git?.commit, ref: git?.ref, urls: appURLs)
        }
        let tail = BuildLogFollower.tail(logRoot: logRoot, jobID: job.id, lines: 200)
        let stage = BuildStatusAPI.stage(error: job.error ?? "", log: tail)
        let error = String((job.error ?? job.state.rawValue).prefix(500))
        let text = "❌ \(app.name): build \(job.id) failed at stage \(stage)\(commitText): \(error)"
        return DeployNotification(
            event: "deploy.failed", text: text, app: app.name, deployment: nil, state: "failed", source: "push",
            job: job.id, commit: git?.commit, ref: git?.ref, urls: [], error: error, stage: stage)
    }

    /// An upload-API finalize of `app` (called by the upload API after it published).
    func uploadFinalized(app: RegisteredApp, deployment: String, promoted: Bool, urls: [String]) {
        guard !app.notify.isEmpty else { return }
        let state = promoted ? "live" : "published"
        let text = "✅ \(app.name): upload deployed \(deployment), \(state)" + (promoted ? (urls.first.map { " at \($0)" } ?? "") : "")
        let notification = DeployNotification(
            event: "deploy.succeeded", text: text, app: app.name, deployment: deployment, state: state,
            source: "upload", urls: promoted ? urls : [])
        do {
            if try notifier.enqueue(notification, key: "upload:\(deployment)", targets: app.notify) > 0 { notifier.wake() }
        } catch {
            log("notify: cannot queue the notification for \(app.name) \(deployment): \(error)")
        }
    }
}
