import ArtifactStore
import Foundation

/// Registers apps and manages their deploy tokens and webhook secrets over the store's registry
/// tables: the one place both `wharf apps …` and the admin API go through. New secrets are
/// returned once, to be shown once; only their digests (tokens) are kept.
public struct AppRegistryService: Sendable {
    public let store: Store
    public let webhooks: WebhookSecrets

    public init(store: Store) {
        self.store = store
        webhooks = WebhookSecrets(storePath: store.path)
    }

    /// The app's current webhook secret, for checking push signatures (never print it).
    public func webhookSecret(app: String) throws -> String? {
        guard let nonce = try store.webhookNonce(app: app) else { return nil }
        return try webhooks.secret(app: app, nonce: nonce)
    }

    /// What creating an app hands back once: its first deploy token and its webhook secret.
    public struct Created: Sendable {
        public var app: RegisteredApp
        public var token: DeployToken
        public var webhookSecret: String
    }

    public func list() throws -> [RegisteredApp] { try store.registeredApps() }

    public func show(_ name: String) throws -> RegisteredApp {
        guard let app = try store.registeredApp(name) else { throw DeployError(404, "app \"\(name)\" is not registered") }
        return app
    }

    /// Registers `name` with `settings`; creates a deploy token and a webhook secret.
    public func add(_ name: String, settings: AppSettings) throws -> Created {
        guard AppName.isSafe(name) else {
            throw DeployError(400, "app name \"\(name)\" must be 1–63 of a-z, 0-9, '-' (no dash at either end)")
        }
        let app = try settings.applied(to: RegisteredApp(name: name))
        let nonce = DeployToken.randomHex(bytes: 16)
        let secret = try webhooks.secret(app: name, nonce: nonce)
        do {
            try store.saveRegisteredApp(app, create: true, webhookNonce: .some(nonce), secretChanges: settings.secrets)
        } catch let error as Store.RegistryError {
            throw DeployError(409, error.description)
        }
        let token = try createToken(app: name, scope: .deploy)
        return Created(app: try show(name), token: token, webhookSecret: secret)
    }

    /// Changes `name`'s settings; returns the new entry.
    public func set(_ name: String, settings: AppSettings) throws -> RegisteredApp {
        let app = try settings.applied(to: try show(name))
        do {
            try store.saveRegisteredApp(app, create: false, secretChanges: settings.secrets)
        } catch let error as Store.RegistryError {
            throw DeployError(409, error.description)
        }
        return try show(name)
    }

    public func remove(_ name: String) throws {
        do {
            try store.removeRegisteredApp(name)
        } catch Store.RegistryError.notRegistered {
            throw DeployError(404, "app \"\(name)\" is not registered")
        }
    }

    /// A new webhook secret for `name` (the old one stops working); returned once.
    public func rotateWebhookSecret(_ name: String) throws -> String {
        let app = try show(name)
        let nonce = DeployToken.randomHex(bytes: 16)
        let secret = try webhooks.secret(app: name, nonce: nonce)
        try store.saveRegisteredApp(app, create: false, webhookNonce: .some(nonce))
        return secret
    }

    // MARK: tokens

    public func createToken(app: String, scope: AppTokenRecord.Scope) throws -> DeployToken {
        _ = try show(app)
        let token = DeployToken.generate()
        try store.insertToken(
            AppTokenRecord(
                id: token.id, app: app, scope: scope, secretSHA256: token.secretDigest,
                createdAt: Int64(Date().timeIntervalSince1970)))
        return token
    }

    public func tokens(app: String) throws -> [AppTokenRecord] {
        _ = try show(app)
        return try store.tokens(app: app)
    }

    /// A new secret for token `id` of `app`, same id and scope; the old secret stops working.
    public func rotateToken(app: String, id: String) throws -> DeployToken {
        _ = try show(app)
        let token = DeployToken(id: id, secret: DeployToken.randomHex(bytes: 32))
        do {
            try store.replaceTokenSecret(id: id, app: app, secretSHA256: token.secretDigest)
        } catch Store.RegistryError.tokenNotFound {
            throw DeployError(404, "app \"\(app)\" has no live token \(id)")
        }
        return token
    }

    public func revokeToken(app: String, id: String) throws {
        _ = try show(app)
        do {
            try store.revokeToken(id: id, app: app)
        } catch Store.RegistryError.tokenNotFound {
            throw DeployError(404, "app \"\(app)\" has no token \(id)")
        }
    }
}
