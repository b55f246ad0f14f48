import ArtifactStore
import Crypto
import Foundation

/// A push the hook accepted for building: the app (as registered), the commit and branch, and
/// which delivery asked (for replay detection).
public struct PushBuild: Sendable, Equatable {
    public var app: RegisteredApp
    public var gitURL: String
    /// `refs/heads/<branch>`.
    public var ref: String
    public var commit: String
    /// `github` or `generic`.
    public var forge: String
    public var delivery: String
    /// Asked to skip the build cache (generic hook `"force": true`). Push builds fetch a commit and
    /// are never looked up in the cache, so this only marks the job; kept so a CI that always
    /// sends it is not refused.
    public var force: Bool = false
}

/// What queuing a push did.
public enum PushBuildQueued: Sendable, Equatable {
    case queued(jobID: Int64)
    /// The delivery was seen before: nothing queued (the first delivery's job, if known).
    case replay(jobID: Int64?)
}

/// Push webhooks on the admin listener (no bearer token: GitHub signs instead):
///
/// | route | |
/// |---|---|
/// | `POST /_wharf/hooks/github/{app}` | GitHub `push` (and `ping`) events, `X-Hub-Signature-256` over the raw body with the app's webhook secret |
/// | `POST /_wharf/hooks/generic/{app}` | any forge or CI: `Authorization: Bearer <deploy token of the app>`, body `{"ref","commit","delivery"?}` |
///
/// Order of checks for GitHub: a well-formed signature header (401; so a request without one learns
/// nothing about which apps exist), the app (404), then the signature is checked in constant time
/// (401) before any byte of the body is parsed; then the event (`ping` 200, other events 202
/// ignored), the app's source (409 without a git source), the body (400) and the ref: a push to
/// another branch, or a branch deletion, is 200 `ignored`. A push to the app's branch queues a build
/// of its `after` commit (202 `queued`); a delivery seen before is 200 `ignored` with nothing queued.
/// The repository fetched is always the registry's, never the payload's `clone_url`.
public struct PushHookAPI: Sendable {
    let store: Store
    let registry: AppRegistryService
    let authorizer: DeployAuthorizer
    let queueBuild: @Sendable (PushBuild) throws -> PushBuildQueued
    /// Largest body accepted (the admin listener refuses more, 413, before the handler runs).
    public static let maxBodyBytes = 1 << 20

    public init(store: Store, queueBuild: @escaping @Sendable (PushBuild) throws -> PushBuildQueued) {
        self.store = store
        registry = AppRegistryService(store: store)
        authorizer = DeployAuthorizer(store: store)
        self.queueBuild = queueBuild
    }

    struct Answer: Encodable {
        var status: String
        var reason: String?
        var job: Int64?
        var commit: String?
    }

    // MARK: GitHub

    public func github(_ request: DeployRequest) -> DeployResponse {
        do {
            return try githubPush(request)
        } catch let error as DeployError {
            return error.response
        } catch {
            return DeployError(500, "internal error: \(error)").response
        }
    }

    private func githubPush(_ request: DeployRequest) throws -> DeployResponse {
        guard let header = request.headers["x-hub-signature-256"], let signature = Self.signatureBytes(header) else {
            throw DeployError(401, "missing or malformed X-Hub-Signature-256")
        }
        let app = try registeredApp(request.parameter("app"))
        guard request.body.count <= Self.maxBodyBytes else { throw DeployError(413, "body larger than \(Self.maxBodyBytes) bytes") }
        guard let secret = try registry.webhookSecret(app: app.name),
            Self.constantTimeEqual(Self.hmac(request.body, secret: secret), signature)
        else {
            throw DeployError(401, "signature does not match")
        }
        let event = request.headers["x-github-event"] ?? ""
        if event == "ping" { return .json(Answer(status: "pong"), status: 200) }
        guard event == "push" else { return .json(Answer(status: "ignored", reason: "event \(Self.printable(event)) is not a push"), status: 202) }
        guard case .git(let url, let branch) = app.source else { throw DeployError(409, "app \(app.name) has no git source (uploads only)") }
        guard let delivery = request.headers["x-github-delivery"], Self.isValidDelivery(delivery) else {
            throw DeployError(400, "missing or malformed X-GitHub-Delivery")
        }
        let fields = try JSONFields(request.body)
        guard let ref = try fields.string("ref"), let after = try fields.string("after") else {
            throw DeployError(400, "wrong shape: a push needs \"ref\" and \"after\"")
        }
        let deleted = try fields.bool("deleted") ?? false
        let wanted = "refs/heads/" + branch
        guard ref == wanted else {
            return .json(Answer(status: "ignored", reason: "push to \(Self.printable(ref)), the app builds \(wanted)"), status: 200)
        }
        if deleted || (!after.isEmpty && after.utf8.allSatisfy { $0 == 0x30 }) {
            return .json(Answer(status: "ignored", reason: "branch deleted"), status: 200)
        }
        let commit = after.lowercased()
        guard Self.isCommitID(commit) else { throw DeployError(400, "\"after\" is not a commit id") }
        return try queue(PushBuild(app: app, gitURL: url, ref: ref, commit: commit, forge: "github", delivery: delivery))
    }

    // MARK: generic

    /// `{"ref": "refs/heads/main" or "main", "commit": "<full id>", "delivery": "<id>", "force": bool}`; without a
    /// delivery id the ref and commit are the id (the same commit is built once through this hook).
    public func generic(_ request: DeployRequest) -> DeployResponse {
        do {
            let name = request.parameter("app")
            guard AppName.isSafe(name) else { throw DeployError(404, "not found") }
            _ = try authorizer.authorize(credential: request.credential, isAdmin: request.isAdmin, app: name, need: .deploy)
            let app = try registeredApp(name)
            guard request.body.count <= Self.maxBodyBytes else { throw DeployError(413, "body larger than \(Self.maxBodyBytes) bytes") }
            guard case .git(let url, let branch) = app.source else { throw DeployError(409, "app \(app.name) has no git source (uploads only)") }
            let fields = try JSONFields(request.body)
            try fields.allowOnly(["ref", "commit", "delivery", "force"])
            let force = try fields.bool("force") ?? false
            guard let rawRef = try fields.string("ref"), let rawCommit = try fields.string("commit") else {
                throw DeployError(400, "wrong shape: \"ref\" and \"commit\" are required")
            }
            let ref = rawRef.hasPrefix("refs/") ? rawRef : "refs/heads/" + rawRef
            let commit = rawCommit.lowercased()
            guard Self.isCommitID(commit) else { throw DeployError(400, "\"commit\" is not a full commit id") }
            let wanted = "refs/heads/" + branch
            guard ref == wanted else {
                return .json(Answer(status: "ignored", reason: "push to \(Self.printable(ref)), the app builds \(wanted)"), status: 200)
            }
            let delivery = try fields.string("delivery") ?? "\(ref)@\(commit)"
            guard Self.isValidDelivery(delivery) else { throw DeployError(400, "\"delivery\" must be 1 to 200 printable ASCII characters") }
            return try queue(PushBuild(app: app, gitURL: url, ref: ref, commit: commit, forge: "generic", delivery: delivery, force: force))
        } catch let error as DeployError {
            return error.response
        } catch {
            return DeployError(500, "internal error: \(error)").response
        }
    }

    // MARK: shared

    private func registeredApp(_ name: String) throws -> RegisteredApp {
        guard AppName.isSafe(name), let app = try store.registeredApp(name) else { throw DeployError(404, "not found") }
        return app
    }

    private func queue(_ build: PushBuild) throws -> DeployResponse {
        let result: PushBuildQueued
        do {
            result = try queueBuild(build)
        } catch let error as DeployError {
            throw error
        } catch {
            throw DeployError(422, "cannot queue the build: \(error)")
        }
        switch result {
        case .queued(let job):
            return .json(Answer(status: "queued", job: job, commit: build.commit), status: 202)
        case .replay(let job):
            return .json(
                Answer(status: "ignored", reason: "delivery \(build.delivery) was already received", job: job, commit: build.commit), status: 200)
        }
    }

    /// `sha256=<64 hex>` → the 32 bytes, or nil.
    static func signatureBytes(_ header: String) -> [UInt8]? {
        let value = header.trimmingCharacters(in: .whitespaces)
        guard value.hasPrefix("sha256=") else { return nil }
        let hex = Array(value.utf8.dropFirst(7))
        guard hex.count == 64 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(32)
        var i = 0
        while i < 64 {
            guard let high = nibble(hex[i]), let low = nibble(hex[i + 1]) else { return nil }
            out.append(high << 4 | low)
            i += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x61...0x66: c - 0x61 + 10
        case 0x41...0x46: c - 0x41 + 10
        default: nil
        }
    }

    /// HMAC-SHA256 of `body` keyed with the secret's text (as GitHub computes it).
    public static func hmac(_ body: [UInt8], secret: String) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Array(secret.utf8))))
    }

    /// Equal-length comparison whose time does not depend on where the bytes differ.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<a.count { difference |= a[i] ^ b[i] }
        return difference == 0
    }

    static func isCommitID(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 40 || bytes.count == 64 else { return false }
        return bytes.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) } && bytes.contains { $0 != 0x30 }
    }

    static func isValidDelivery(_ text: String) -> Bool {
        (1...200).contains(text.utf8.count) && text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }

    /// Text from a request echoed in an answer: at most 200 printable ASCII characters.
    static func printable(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.prefix(200).map { $0.value >= 0x20 && $0.value < 0x7F ? $0 : "?" }))
    }
}
