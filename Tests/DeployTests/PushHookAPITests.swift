import ArtifactStore
import Foundation
import Synchronization
import Testing
import WharfTestSupport

@testable import Deploy

/// The push hooks over a real store: only a correctly signed push to the app's branch (or a generic
/// request with the app's deploy token) reaches the queue; everything hostile is answered with its
/// status and nothing is queued. The queue here records calls (the scheduler's queue is tested in
/// SchedulerTests, the whole path in EndToEndTests/PushHookTests).
@Suite struct PushHookAPITests {
    final class Calls: Sendable {
        let builds = Mutex<[PushBuild]>([])
        var count: Int { builds.withLock { $0.count } }
    }

    struct Fixture {
        let store: Store
        let dir: TemporaryDirectory
        let api: PushHookAPI
        let calls = Calls()
        let secret: String
        let token: String
        let otherToken: String
        let otherSecret: String

        init() throws {
            dir = try TemporaryDirectory(prefix: "wharf-hooks")
            store = try Store.open(at: dir.path + "/store")
            let registry = AppRegistryService(store: store)
            var settings = AppSettings()
            settings.git = .some(.init(url: "https://git.example.test/shop.git", branch: "main"))
            let created = try registry.add("shop", settings: settings)
            secret = created.webhookSecret
            token = created.token.text
            let other = try registry.add("other", settings: AppSettings())
            otherToken = other.token.text
            otherSecret = other.webhookSecret
            let calls = self.calls
            api = PushHookAPI(store: store) { build in
                calls.builds.withLock { $0.append(build) }
                return .queued(jobID: Int64(calls.count))
            }
        }

        func github(
            _ body: String, app: String = "shop", event: String = "push", delivery: String? = "d1",
            signature: String? = nil, key: String? = nil
        ) -> DeployResponse {
            let bytes = Array(body.utf8)
            var headers = ["x-github-event": event]
            headers["x-hub-signature-256"] =
                signature ?? "sha256=" + PushHookAPI.hmac(bytes, secret: key ?? secret).map { String(format: "%02x", $0) }.joined()
            if let delivery { headers["x-github-delivery"] = delivery }
            return api.github(DeployRequest(method: "POST", parameters: ["app": app], headers: headers, body: bytes))
        }
    }

    static let commit = String(repeating: "1f", count: 20)
    static func push(ref: String = "refs/heads/main", after: String = commit) -> String {
        #"{"ref":"\#(ref)","after":"\#(after)","repository":{"clone_url":"https://evil.example/x.git"}}"#
    }

    @Test func aSignedPushToTheBranchQueuesTheRegistrysRepositoryAtThatCommit() throws {
        let f = try Fixture()
        defer { f.dir.remove() }
        let reply = f.github(Self.push())
        #expect(reply.status == 202, "\(String(decoding: reply.body, as: UTF8.self))")
        let build = try #require(f.calls.builds.withLock { $0.first })
        #expect(build.gitURL == "https://git.example.test/shop.git" && build.commit == Self.commit && build.ref == "refs/heads/main")
        #expect(build.forge == "github" && build.delivery == "d1")
    }

    @Test func hostilePushesAreRefusedAndQueueNothing() throws {
        let f = try Fixture()
        defer { f.dir.remove() }
        let cases: [(String, DeployResponse, Int)] = [
            ("bad signature", f.github(Self.push(), signature: "sha256=" + String(repeating: "0", count: 64)), 401),
            (
                "signature of another body",
                f.github(
                    Self.push(),
                    signature: "sha256=" + PushHookAPI.hmac(Array("{}".utf8), secret: f.secret).map { String(format: "%02x", $0) }.joined()), 401
            ),
            ("short signature", f.github(Self.push(), signature: "sha256=abcd"), 401),
            ("sha1 signature", f.github(Self.push(), signature: "sha1=" + String(repeating: "a", count: 40)), 401),
            ("non-hex signature", f.github(Self.push(), signature: "sha256=" + String(repeating: "z", count: 64)), 401),
            ("unknown app", f.github(Self.push(), app: "ghost"), 404),
            ("unsafe app name", f.github(Self.push(), app: "../etc"), 404),
            ("another app's secret", f.github(Self.push(), app: "other"), 401),
            ("uploads-only app", f.github(Self.push(), app: "other", key: f.otherSecret), 409),
            ("malformed JSON", f.github("{\"ref\":"), 400),
            ("not an object", f.github("[1,2]"), 400),
            ("ref missing", f.github(#"{"after":"\#(Self.commit)"}"#), 400),
            ("ref not a string", f.github(#"{"ref":5,"after":"\#(Self.commit)"}"#), 400),
            ("after not a commit", f.github(Self.push(after: "HEAD; rm -rf /")), 400),
            ("no delivery id", f.github(Self.push(), delivery: nil), 400),
            ("delivery with control bytes", f.github(Self.push(), delivery: "a\u{1}b"), 400),
            ("oversized body", f.github(String(repeating: " ", count: PushHookAPI.maxBodyBytes + 1) + Self.push()), 413),
            ("NUL bytes", f.github("\u{0}\u{0}\u{0}"), 400),
        ]
        for (name, reply, status) in cases {
            #expect(reply.status == status, "\(name): \(reply.status) \(String(decoding: reply.body, as: UTF8.self))")
        }
        let ignored: [(String, DeployResponse, Int)] = [
            ("ping", f.github(#"{"zen":"x"}"#, event: "ping"), 200),
            ("another event", f.github(Self.push(), event: "issues"), 202),
            ("another branch", f.github(Self.push(ref: "refs/heads/feature")), 200),
            ("a tag", f.github(Self.push(ref: "refs/tags/v1")), 200),
            ("branch deleted", f.github(Self.push(after: String(repeating: "0", count: 40))), 200),
        ]
        for (name, reply, status) in ignored {
            #expect(reply.status == status, "\(name): \(reply.status)")
        }
        #expect(f.calls.count == 0, "nothing may be queued")
    }

    @Test func theGenericHookNeedsTheAppsDeployToken() throws {
        let f = try Fixture()
        defer { f.dir.remove() }
        func generic(_ body: String, credential: String?, app: String = "shop") -> Int {
            f.api.generic(DeployRequest(method: "POST", parameters: ["app": app], body: Array(body.utf8), credential: credential)).status
        }
        let body = #"{"ref":"main","commit":"\#(Self.commit)"}"#
        #expect(generic(body, credential: nil) == 401)
        #expect(generic(body, credential: "wharf_0123456789abcdef_" + String(repeating: "0", count: 64)) == 401)
        #expect(generic(body, credential: f.otherToken) == 403)
        #expect(generic(body, credential: f.token, app: "ghost") == 403, "a token of shop is not one of ghost")
        #expect(generic(#"{"ref":"main","commit":"\#(Self.commit)","extra":1}"#, credential: f.token) == 400)
        #expect(generic(#"{"ref":"main"}"#, credential: f.token) == 400)
        #expect(generic(#"{"ref":"main","commit":"abc"}"#, credential: f.token) == 400)
        #expect(generic("nope", credential: f.token) == 400)
        #expect(
            generic(#"{"ref":"main","commit":"\#(Self.commit)","delivery":"\#(String(repeating: "x", count: 201))"}"#, credential: f.token) == 400)
        #expect(generic(#"{"ref":"dev","commit":"\#(Self.commit)"}"#, credential: f.token) == 200)
        #expect(generic(body, credential: f.otherToken, app: "other") == 409, "uploads-only app")
        #expect(f.calls.count == 0)
        #expect(generic(body, credential: f.token) == 202)
        #expect(f.calls.builds.withLock { $0.first?.delivery } == "refs/heads/main@\(Self.commit)")
    }
}
