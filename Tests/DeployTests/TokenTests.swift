import ArtifactStore
import Foundation
import Testing
import WharfTestSupport

@testable import Deploy

/// Deploy tokens: shape, SHA-256 digests only in the database, scopes, 401 vs 403, rotation and
/// revocation.
@Suite struct TokenTests {
    @Test func tokensParseAndOnlyTheirDigestIsStored() throws {
        let (store, dir) = try RegistryTests.store()
        defer { dir.remove() }
        let service = AppRegistryService(store: store)
        let created = try service.add("app", settings: AppSettings())
        let text = created.token.text
        #expect(text.hasPrefix("wharf_") && text.count == 6 + 16 + 1 + 64)
        #expect(DeployToken(parsing: text) == created.token)
        for bad in ["", "wharf_", "wharf_zz_zz", "bearer " + text, text + "0", text.uppercased()] {
            #expect(DeployToken(parsing: bad) == nil, "\(bad)")
        }
        // Neither the token secret nor anything but its digest is in the database file.
        let record = try #require(try store.token(id: created.token.id))
        #expect(record.secretSHA256 == ContentHash.of(Array(created.token.secret.utf8)))
        let database =
            try Data(contentsOf: URL(fileURLWithPath: store.path + "/store.sqlite"))
            + ((try? Data(contentsOf: URL(fileURLWithPath: store.path + "/store.sqlite-wal"))) ?? Data())
        #expect(database.range(of: Data(created.token.secret.utf8)) == nil)
        #expect(DeployToken.constantTimeEquals(Array("abc".utf8), Array("abc".utf8)))
        #expect(!DeployToken.constantTimeEquals(Array("abc".utf8), Array("abd".utf8)))
        #expect(!DeployToken.constantTimeEquals(Array("abc".utf8), Array("abcd".utf8)))
    }

    @Test func scopesAppsRotationAndRevocation() throws {
        let (store, dir) = try RegistryTests.store()
        defer { dir.remove() }
        let service = AppRegistryService(store: store)
        let auth = DeployAuthorizer(store: store)
        let deploy = try service.add("app", settings: AppSettings()).token
        let other = try service.add("other", settings: AppSettings()).token
        let read = try service.createToken(app: "app", scope: .read)
        func status(_ credential: String?, admin: Bool = false, app: String = "app", need: AppTokenRecord.Scope = .deploy) -> Int {
            do {
                _ = try auth.authorize(credential: credential, isAdmin: admin, app: app, need: need)
                return 200
            } catch let error as DeployError {
                return error.status
            } catch {
                return -1
            }
        }
        #expect(status(deploy.text) == 200)
        #expect(status(nil, admin: true) == 200)
        #expect(status(nil) == 401)
        #expect(status("garbage") == 401)
        #expect(status(DeployToken(id: deploy.id, secret: String(repeating: "0", count: 64)).text) == 401)
        #expect(status(other.text) == 403)
        #expect(status(read.text) == 403)
        #expect(status(read.text, need: .read) == 200)

        let rotated = try service.rotateToken(app: "app", id: deploy.id)
        #expect(rotated.id == deploy.id && rotated.secret != deploy.secret)
        #expect(status(deploy.text) == 401)
        #expect(status(rotated.text) == 200)
        try service.revokeToken(app: "app", id: deploy.id)
        #expect(status(rotated.text) == 401)
        #expect(throws: DeployError.self) { _ = try service.rotateToken(app: "app", id: deploy.id) }
        #expect(throws: DeployError.self) { try service.revokeToken(app: "other", id: read.id) }
        #expect(try service.tokens(app: "app").map(\.id).sorted() == [deploy.id, read.id].sorted())
    }
}

/// Webhook secrets are derived, not stored: the database holds a nonce, the key lives in a 0600
/// file, the secret is stable across reopening and changes on rotation.
@Suite struct WebhookSecretTests {
    @Test func secretsAreDerivedFromAKeyFileAndANonce() throws {
        let dir = try TemporaryDirectory(prefix: "wharf-webhook-secret")
        defer { dir.remove() }
        var created: AppRegistryService.Created
        do {
            let store = try Store.open(at: dir.path + "/store")
            created = try AppRegistryService(store: store).add("app", settings: AppSettings())
            #expect(try AppRegistryService(store: store).webhookSecret(app: "app") == created.webhookSecret)
        }
        let store = try Store.open(at: dir.path + "/store")
        let service = AppRegistryService(store: store)
        #expect(try service.webhookSecret(app: "app") == created.webhookSecret)
        #expect(try FileManager.default.attributesOfItem(atPath: dir.path + "/store/webhook-key")[.posixPermissions] as? Int == 0o600)
        let database =
            try Data(contentsOf: URL(fileURLWithPath: store.path + "/store.sqlite"))
            + ((try? Data(contentsOf: URL(fileURLWithPath: store.path + "/store.sqlite-wal"))) ?? Data())
        #expect(database.range(of: Data(created.webhookSecret.utf8)) == nil)
        let rotated = try service.rotateWebhookSecret("app")
        #expect(rotated != created.webhookSecret && rotated.count == 64)
        #expect(try service.webhookSecret(app: "app") == rotated)
    }
}
