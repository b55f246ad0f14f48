import ArtifactStore
import Deploy
import Edge
import Foundation
import Scheduler
import Synchronization

/// A deployment's way from a push (or any build of the app) to being served, over the admin API,
/// for the app's tokens (read scope suffices), the admin token and dashboard sessions (a
/// read-only one reads every app's builds, as its Builds page lists them all):
///
/// | route | |
/// |---|---|
/// | `GET /_wharf/api/apps/{app}/builds[?limit=N]` | the app's builds, newest first (N 1…200, default 20) |
/// | `GET /_wharf/api/apps/{app}/builds/{id}` | one build |
/// | `GET /_wharf/api/apps/{app}/builds/{id}/log`, `GET /_wharf/api/builds/{id}/log` | its log as Server-Sent Events while it grows; the stream ends when the build does |
/// | `GET /_wharf/api/builds/{id}/stages` | its stage timeline (the `::stage` markers of its latest attempt, timed from the log) |
///
/// States: `queued` → `building` → `published` → `live` (the app's alias points at the deployment),
/// or `failed` with the `stage` it failed in (`fetch`, `publish`, or the last `::stage` of the build,
/// else `build`) and the log's last 20 lines, or `cancelled`. Logs are as the build log wrote them:
/// secrets are already `***`. A build of another app is 404 to an app's token, as an unknown id is.
struct BuildStatusAPI: Sendable {
    let queue: JobQueue
    let store: Store
    let logRoot: String
    let authorizer: DeployAuthorizer
    /// The stage timelines of builds the dashboard shows (`BuildStatusAPI+Stages.swift`).
    let timelines: BuildStageTimelines

    init(queue: JobQueue, store: Store, logRoot: String) {
        self.queue = queue
        self.store = store
        self.logRoot = logRoot
        authorizer = DeployAuthorizer(store: store)
        timelines = BuildStageTimelines(queue: queue, logRoot: logRoot)
    }

    struct BuildView: Encodable {
        var id: Int64
        var app: String
        var kind: String
        var state: String
        var jobState: String
        var attempt: Int
        var commit: String?
        var ref: String?
        var queuedAt: Date
        var startedAt: Date?
        var finishedAt: Date?
        var deployment: String?
        var cacheHit: Bool
        var error: String?
        var stage: String?
        var logTail: [String]?
    }

    func view(_ job: Job, live: String?) -> BuildView {
        let git = GitSource(encoded: job.source)
        var out = BuildView(
            id: job.id, app: job.app, kind: job.kind.rawValue, state: "", jobState: job.state.rawValue,
            attempt: job.attempt, commit: git?.commit, ref: git?.ref, queuedAt: job.queuedAt, startedAt: job.startedAt,
            finishedAt: job.finishedAt, deployment: job.deploymentID, cacheHit: job.cacheHit, error: job.error)
        switch job.state {
        case .queued: out.state = "queued"
        case .running: out.state = "building"
        case .succeeded: out.state = job.deploymentID != nil && job.deploymentID == live ? "live" : "published"
        case .cancelled: out.state = "cancelled"
        case .failed, .timed_out:
            out.state = "failed"
            let tail = BuildLogFollower.tail(logRoot: logRoot, jobID: job.id, lines: 200)
            out.stage = Self.stage(error: job.error ?? "", log: tail)
            out.logTail = Array(tail.suffix(20))
        }
        return out
    }

    static func stage(error: String, log: [String]) -> String {
        if error.hasPrefix("fetch:") { return "fetch" }
        if error.hasPrefix("publish failed") { return "publish" }
        for line in log.reversed() {
            if let marker = line.range(of: "::stage ") {
                let name = line[marker.upperBound...].trimmingCharacters(in: .whitespaces)
                if !name.isEmpty { return String(name.prefix(100)) }
            }
        }
        return "build"
    }

    /// The job `id` if the request may read it: unknown, malformed, or another app's (to an app
    /// token) are all 404; no valid credential is 401.
    func authorizedJob(_ request: AdminRequest, app: String?) throws -> Job {
        guard let id = Int64(request.parameters["id"] ?? ""), id > 0 else { throw AdminError(404, "no such build") }
        if let app { try authorize(request, app: app) }
        guard let job = try? queue.get(id) else {
            if app == nil, !request.isAdmin { try authorizeAny(request) }
            throw AdminError(404, "no such build")
        }
        if let app {
            guard job.app == app else { throw AdminError(404, "no such build") }
        } else {
            do { try authorize(request, app: job.app) } catch let error as AdminError where error.status == 403 {
                throw AdminError(404, "no such build")
            }
        }
        return job
    }

    private func authorize(_ request: AdminRequest, app: String) throws {
        // A read-only dashboard session reads every app's builds (the Builds page lists them all).
        if request.isReadSession { return }
        do {
            _ = try authorizer.authorize(credential: request.credential, isAdmin: request.isAdmin, app: app, need: .read)
        } catch let error as DeployError {
            throw AdminError(error.status, error.message)
        }
    }

    /// A credential that is valid for some app (so an unknown id says 404 only to callers with one).
    private func authorizeAny(_ request: AdminRequest) throws {
        if request.isReadSession { return }
        guard let credential = request.credential, let token = DeployToken(parsing: credential),
            let record = try store.token(id: token.id), record.revokedAt == nil,
            token.matches(storedDigest: record.secretSHA256)
        else { throw AdminError(401, "a valid bearer token is required") }
    }

    func list(_ request: AdminRequest) throws -> AdminResponse {
        let app = request.parameters["app"] ?? ""
        try authorize(request, app: app)
        let limitText = request.queryItems["limit"] ?? "20"
        guard let limit = Int(limitText), (1...200).contains(limit) else { throw AdminError(400, "limit must be 1...200") }
        let live = try store.currentDeploymentID(app: app)
        let views = try queue.list(state: nil, app: app, limit: limit).map { view($0, live: live) }
        return Self.json(["builds": views])
    }

    func show(_ request: AdminRequest) throws -> AdminResponse {
        let job = try authorizedJob(request, app: request.parameters["app"] ?? "")
        return Self.json(view(job, live: try store.currentDeploymentID(app: job.app)))
    }

    func log(_ request: AdminRequest, app: String?) throws -> AdminResponse {
        let job = try authorizedJob(request, app: app)
        var response = AdminResponse(status: 200, body: [], contentType: "text/event-stream; charset=utf-8")
        response.stream = BuildLogEvents(
            follower: BuildLogFollower(queue: queue, logRoot: logRoot, jobID: job.id),
            follow: request.queryItems["follow"] != "0")
        return response
    }

    static func json<T: Encodable>(_ value: T) -> AdminResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return AdminResponse(status: 200, body: Array((try? encoder.encode(value)) ?? Data("{}".utf8)))
    }

    func register(on routes: AdminRoutes) throws {
        let api = self
        try routes.register("GET", "/_wharf/api/apps/{app}/builds", access: .delegated) { try api.list($0) }
        try routes.register("GET", "/_wharf/api/apps/{app}/builds/{id}", access: .delegated) { try api.show($0) }
        try routes.register("GET", "/_wharf/api/apps/{app}/builds/{id}/log", access: .delegated) { try api.log($0, app: $0.parameters["app"] ?? "") }
        try routes.register("GET", "/_wharf/api/builds/{id}/log", access: .delegated) { try api.log($0, app: nil) }
        try routes.register("GET", "/_wharf/api/builds/{id}/stages", access: .delegated) { try api.stages($0) }
    }
}

/// A build log as Server-Sent Events: each log line one `data:` event, `event: attempt` is not
/// used (attempt headers are lines), a comment every 15 s of silence (so proxies and clients with
/// idle timeouts keep the stream), and at the end `event: end` with the job's final state.
final class BuildLogEvents: AdminBodyStream {
    let follower: BuildLogFollower
    /// false (`?follow=0`): end at the first pause instead of waiting for the build.
    let follow: Bool
    private let quietSince = Mutex<Date>(Date())

    init(follower: BuildLogFollower, follow: Bool) {
        self.follower = follower
        self.follow = follow
    }

    func next() throws -> AdminStreamChunk {
        switch try follower.next() {
        case .lines(let bytes):
            quietSince.withLock { $0 = Date() }
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count + 64)
            for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast() {
                out += Array("data: ".utf8)
                out += line.filter { $0 != 0x0D }
                out += [0x0A, 0x0A]
            }
            return .bytes(out)
        case .idle:
            if !follow { return endOnce(nil) }
            let quiet = quietSince.withLock { Date().timeIntervalSince($0) }
            guard quiet >= 15 else { return .wait }
            quietSince.withLock { $0 = Date() }
            return .bytes(Array(": still running\n\n".utf8))
        case .end(let state):
            return endOnce(state)
        }
    }

    private let ended = Mutex(false)
    /// `event: end` with the final state once, then the end of the stream (no state: stopped early).
    private func endOnce(_ state: JobState?) -> AdminStreamChunk {
        ended.withLock { done in
            if done { return .end }
            done = true
            guard let state else { return .end }
            return .bytes(Array("event: end\ndata: {\"state\":\"\(state.rawValue)\"}\n\n".utf8))
        }
    }
}
