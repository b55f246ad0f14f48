import ArtifactStore
import Foundation
import Glibc
import Synchronization

/// The upload protocol on the admin listener (per-app deploy tokens or the admin token):
///
/// 1. `POST /_wharf/api/apps/{app}/deploys` with `{"files":[{"path","sha256","size"}…],"version","message"}`
///    → 201 `{"id","missing":[sha256…]}`: the blobs neither the store nor the upload area holds.
/// 2. `PUT /_wharf/api/apps/{app}/deploys/{id}/blobs/{sha256}` for each missing blob, with
///    `Content-Digest: sha-256=:…:`; the body is streamed to a file and must hash to both.
/// 3. `POST /_wharf/api/apps/{app}/deploys/{id}/finalize` with `{"promote": true|false}` →
///    published through the store's publisher in one transaction (alias switched if promoted).
///
/// `GET …/deploys/{id}` reports a session; `POST …/deploys/{id}/promote` points the alias at a
/// finalized session's deployment. Everything refused leaves the store unchanged.
public final class UploadAPI: Sendable {
    public let store: Store
    public let area: UploadArea
    public let limits: UploadLimits
    public let metrics: DeployMetrics
    let authorizer: DeployAuthorizer
    /// Called after a publish or promote, so the edge can reload at once; with the app's name.
    let onPublished: @Sendable (String) -> Void
    /// Called after every successful finalize (archives too): the app, the deployment, whether it
    /// was promoted, and the app's URLs (for deploy notifications).
    let onFinalized: @Sendable (RegisteredApp, String, Bool, [String]) -> Void
    /// The URLs an app is served at, for the finalize answer.
    let urls: @Sendable (RegisteredApp) -> [String]
    /// Sessions being finalized: a second finalize of the same one waits its turn (409 after).
    private let finalizing = Mutex<Set<String>>([])

    public init(
        store: Store, limits: UploadLimits = UploadLimits(), metrics: DeployMetrics = DeployMetrics(),
        urls: @escaping @Sendable (RegisteredApp) -> [String] = { _ in [] },
        onPublished: @escaping @Sendable (String) -> Void = { _ in },
        onFinalized: @escaping @Sendable (RegisteredApp, String, Bool, [String]) -> Void = { _, _, _, _ in }
    ) throws {
        self.store = store
        self.area = try UploadArea(storePath: store.path)
        self.limits = limits
        self.metrics = metrics
        self.authorizer = DeployAuthorizer(store: store)
        self.urls = urls
        self.onPublished = onPublished
        self.onFinalized = onFinalized
    }

    /// Runs `body` and counts 4xx answers.
    func counted(_ body: () throws -> DeployResponse) -> DeployResponse {
        let response = respond(body)
        if (400..<500).contains(response.status) { metrics.refused.add(1, ordering: .relaxed) }
        return response
    }

    /// The registered app and the caller's grant, in that order of checks: credential first.
    func authorize(_ request: DeployRequest, need: AppTokenRecord.Scope) throws -> (RegisteredApp, DeployGrant) {
        let name = request.parameter("app")
        let grant = try authorizer.authorize(credential: request.credential, isAdmin: request.isAdmin, app: name, need: need)
        guard let app = try store.registeredApp(name) else { throw DeployError(404, "app \"\(name)\" is not registered") }
        return (app, grant)
    }

    private func session(_ request: DeployRequest, app: String) throws -> UploadArea.Session {
        guard let session = area.session(request.parameter("id")), session.app == app else {
            throw DeployError(404, "no deploy session \(request.parameter("id")) for app \"\(app)\"")
        }
        return session
    }

    /// The quota for `app`: its registry values over the configured ones.
    func limits(for app: RegisteredApp) -> UploadLimits {
        var out = limits
        if let n = app.maxFiles { out.maxFiles = n }
        if let n = app.maxBytes { out.maxBytes = n }
        return out
    }

    func missing(_ manifest: UploadManifest) throws -> [String] {
        let hashes = Array(manifest.blobs.keys).sorted()
        let inStore = try store.existingBlobs(hashes)
        return hashes.filter { !inStore.contains($0) && !area.hasStagedBlob($0) }
    }

    struct SessionView: Encodable {
        var id: String
        var app: String
        var files: Int
        var bytes: Int64
        var missing: [String]
        var deployment: String?
    }

    // MARK: routes

    public func open(_ request: DeployRequest) -> DeployResponse {
        counted {
            let (app, grant) = try authorize(request, need: .deploy)
            let manifest = try UploadManifest.parse(request.body, limits: limits(for: app))
            try AllowedTypes(app.allowedTypes).check(paths: manifest.files.map(\.path))
            let session = UploadArea.Session(
                id: DeployToken.randomHex(bytes: 8), app: app.name, manifest: manifest,
                createdAt: Int64(Date().timeIntervalSince1970), createdBy: grant.label)
            try area.save(session)
            let missing = try missing(manifest)
            metrics.sessions.add(1, ordering: .relaxed)
            metrics.blobsSkipped.add(manifest.blobs.count - missing.count, ordering: .relaxed)
            return .json(
                SessionView(
                    id: session.id, app: app.name, files: manifest.files.count, bytes: manifest.totalBytes,
                    missing: missing), status: 201)
        }
    }

    public func status(_ request: DeployRequest) -> DeployResponse {
        counted {
            let (app, _) = try authorize(request, need: .read)
            let session = try session(request, app: app.name)
            return .json(
                SessionView(
                    id: session.id, app: app.name, files: session.manifest.files.count,
                    bytes: session.manifest.totalBytes,
                    missing: session.deployment == nil ? try missing(session.manifest) : [],
                    deployment: session.deployment))
        }
    }

    public func putBlob(_ request: DeployRequest) -> DeployResponse {
        counted {
            let (app, _) = try authorize(request, need: .deploy)
            let session = try session(request, app: app.name)
            guard session.deployment == nil else { throw DeployError(409, "deploy session \(session.id) is already finalized") }
            let hash = request.parameter("hash")
            guard let size = session.manifest.blobs[hash] else {
                throw DeployError(404, "blob \(hash) is not in the manifest of deploy session \(session.id)")
            }
            // No body at all (a client may send an empty file without Content-Length): zero bytes.
            let upload = try request.upload ?? emptyUpload()
            guard let header = request.headers["content-digest"] else {
                throw DeployError(400, "Content-Digest: sha-256=:…: is required (RFC 9530)")
            }
            guard let declared = ContentDigest.sha256Hex(fromHeader: header) else {
                throw DeployError(400, "Content-Digest has no valid sha-256 member")
            }
            guard declared == hash else { throw DeployError(400, "Content-Digest names another blob than the URL") }
            guard upload.size == Int(size) else {
                throw DeployError(422, "blob \(hash): \(upload.size) bytes received, the manifest says \(size)")
            }
            guard upload.sha256 == hash else {
                throw DeployError(422, "blob \(hash): the body's SHA-256 is \(upload.sha256), not what was declared")
            }
            let inStore = try store.existingBlobs([hash]).contains(hash)
            if inStore || area.hasStagedBlob(hash) {
                return .json(["hash": hash, "stored": "already present"])
            }
            try area.stage(file: upload.path, hash: hash)
            metrics.blobsUploaded.add(1, ordering: .relaxed)
            metrics.bytesUploaded.add(upload.size, ordering: .relaxed)
            return .json(["hash": hash, "stored": "uploaded"], status: 201)
        }
    }

    /// An empty file in the incoming directory, standing for a request without a body.
    private func emptyUpload() throws -> (path: String, size: Int, sha256: String) {
        let path = area.incoming + "/empty-" + DeployToken.randomHex(bytes: 8)
        guard FileManager.default.createFile(atPath: path, contents: Data(), attributes: [.posixPermissions: 0o600]) else {
            throw DeployError(507, "cannot create an empty blob")
        }
        return (path, 0, ContentHash.of([]))
    }

    struct Finalized: Encodable {
        var id: String
        var app: String
        var deployment: String
        var promoted: Bool
        var files: Int
        var newBlobs: Int
        var urls: [String]
    }

    public func finalize(_ request: DeployRequest) -> DeployResponse {
        counted {
            let (app, grant) = try authorize(request, need: .deploy)
            let id = request.parameter("id")
            guard finalizing.withLock({ $0.insert(id).inserted }) else {
                throw DeployError(409, "deploy session \(id) is being finalized")
            }
            defer { _ = finalizing.withLock { $0.remove(id) } }
            var session = try session(request, app: app.name)
            let json = try JSONFields(request.body, optional: true)
            try json.allowOnly(["promote"])
            let promote = try json.bool("promote") ?? false
            if let done = session.deployment {
                throw DeployError(409, "deploy session \(session.id) is already finalized as \(done)", details: ["deployment": [done]])
            }
            return try publish(&session, app: app, grant: grant, promote: promote)
        }
    }

    /// Publishes a session whose blobs should all be there: the tree, the publisher, the staged
    /// blobs dropped, the session marked done.
    func publish(_ session: inout UploadArea.Session, app: RegisteredApp, grant: DeployGrant, promote: Bool) throws -> DeployResponse {
        let missing = try missing(session.manifest)
        guard missing.isEmpty else {
            throw DeployError(409, "\(missing.count) blobs have not been uploaded", details: ["missing": missing])
        }
        let tree = area.treePath(session.id + "-" + DeployToken.randomHex(bytes: 4))
        defer { try? FileManager.default.removeItem(atPath: tree) }
        try TreeBuilder(store: store, area: area).build(session.manifest, at: tree)
        let report = try store.publish(
            PublishRequest(
                app: app.name, directory: tree, version: session.manifest.version, message: session.manifest.message,
                metadata: ["deploy-session": session.id, "deployed-by": grant.label], activate: promote))
        session.deployment = report.deployment.id
        try area.save(session)
        for hash in session.manifest.blobs.keys { area.removeStagedBlob(hash) }
        metrics.finalized.add(1, ordering: .relaxed)
        if promote { onPublished(app.name) }
        onFinalized(app, report.deployment.id, promote, urls(app))
        return .json(
            Finalized(
                id: session.id, app: app.name, deployment: report.deployment.id, promoted: promote,
                files: report.deployment.files.count, newBlobs: report.newBlobs,
                urls: promote ? urls(app) : []))
    }

    public func promote(_ request: DeployRequest) -> DeployResponse {
        counted {
            let (app, _) = try authorize(request, need: .deploy)
            let session = try session(request, app: app.name)
            guard let deployment = session.deployment else {
                throw DeployError(409, "deploy session \(session.id) is not finalized yet")
            }
            _ = try store.rollback(app: app.name, to: deployment)
            onPublished(app.name)
            return .json(["app": app.name, "deployment": deployment])
        }
    }
}
