import Foundation
import GRDB

/// The registry's rows in the store database: apps, their host names and token digests.
/// Validation of values (names, URLs, scopes) is the caller's (the `Deploy` module); the schema
/// still refuses unsafe names and host names. Every method may block on SQLite.
extension Store {
    /// Why a registry change was refused.
    public enum RegistryError: Error, Equatable, CustomStringConvertible {
        case alreadyRegistered(String)
        case notRegistered(String)
        case hostnameTaken(hostname: String, app: String)
        case tokenNotFound(String)

        public var description: String {
            switch self {
            case .alreadyRegistered(let app): "app \"\(app)\" is already registered"
            case .notRegistered(let app): "app \"\(app)\" is not registered"
            case .hostnameTaken(let host, let app): "host name \(host) already belongs to app \"\(app)\""
            case .tokenNotFound(let id): "no token \(id)"
            }
        }
    }

    /// Every registered app, by name.
    public func registeredApps() throws -> [RegisteredApp] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM registered_apps ORDER BY name").map { try Self.app(from: $0, db) }
        }
    }

    /// One registered app, or nil.
    public func registeredApp(_ name: String) throws -> RegisteredApp? {
        try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM registered_apps WHERE name = ?", arguments: [name]).map { try Self.app(from: $0, db) }
        }
    }

    /// Host name → app for every registered host name (the edge's routing table).
    public func registeredHostnames() throws -> [String: String] {
        try pool.read { db in
            var map: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT hostname, app FROM app_hostnames") { map[row[0]] = row[1] }
            return map
        }
    }

    /// App → its `downloads` globs, for every registered app that lists any (the edge's
    /// download rules; a change bumps the alias generation, so a catalog reloads them).
    public func registeredDownloadPatterns() throws -> [String: [String]] {
        try pool.read { db in
            var map: [String: [String]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT name, downloads FROM registered_apps WHERE downloads != '[]'") {
                let text: String = row[1]
                if let list = try? JSONDecoder().decode([String].self, from: Data(text.utf8)), !list.isEmpty { map[row[0]] = list }
            }
            return map
        }
    }

    /// Adds (`create: true`) or replaces an app's registry entry; `webhookNonce` nil keeps the
    /// stored one (`.some(nil)` clears it). `secretChanges` sets (a value) or removes (nil) build
    /// secrets by name; the others are kept. Values are sealed with `BuildSecretBox` before they
    /// reach the database.
    public func saveRegisteredApp(
        _ app: RegisteredApp, create: Bool, webhookNonce: String?? = .none,
        secretChanges: [String: String?] = [:]
    ) throws {
        try AppName.validate(app.name)
        let box = BuildSecretBox(storePath: path)
        var sealedChanges: [String: String?] = [:]
        for (name, value) in secretChanges {
            // updateValue keeps a removal (nil) as an entry; a subscript assignment of nil would drop it.
            sealedChanges.updateValue(try value.map { try box.seal($0, app: app.name, name: name) }, forKey: name)
        }
        try pool.write { db in
            let now = Int64(Date().timeIntervalSince1970)
            let exists = try Bool.fetchOne(db, sql: "SELECT 1 FROM registered_apps WHERE name = ?", arguments: [app.name]) ?? false
            if create && exists { throw RegistryError.alreadyRegistered(app.name) }
            if !create && !exists { throw RegistryError.notRegistered(app.name) }
            for host in app.hostnames {
                if let owner = try String.fetchOne(db, sql: "SELECT app FROM app_hostnames WHERE hostname = ?", arguments: [host]),
                    owner != app.name
                {
                    throw RegistryError.hostnameTaken(hostname: host, app: owner)
                }
            }
            var gitURL: String?
            var gitBranch: String?
            if case .git(let url, let branch) = app.source {
                gitURL = url
                gitBranch = branch
            }
            let notify = String(decoding: try JSONEncoder().encode(app.notify), as: UTF8.self)
            let downloads = String(decoding: try JSONEncoder().encode(app.downloads), as: UTF8.self)
            let allowedTypes = String(decoding: try JSONEncoder().encode(app.allowedTypes), as: UTF8.self)
            let sorted = JSONEncoder()
            sorted.outputFormatting = .sortedKeys
            let buildEnv = String(decoding: try sorted.encode(app.buildEnv), as: UTF8.self)
            let storedSecrets =
                try create
                ? "{}"
                : (String.fetchOne(db, sql: "SELECT build_secrets FROM registered_apps WHERE name = ?", arguments: [app.name]) ?? "{}")
            var secrets = (try? JSONDecoder().decode([String: String].self, from: Data(storedSecrets.utf8))) ?? [:]
            for (name, sealed) in sealedChanges { secrets[name] = sealed }
            let buildSecrets = String(decoding: try sorted.encode(secrets), as: UTF8.self)
            if create {
                try db.execute(
                    sql: """
                        INSERT INTO registered_apps (name, git_url, git_branch, build_command, output_dir, target_type, notify,
                                                     max_files, max_bytes, downloads, allowed_types, keep_deployments, keep_days,
                                                     webhook_nonce, created_at, updated_at, build_env, build_secrets)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        app.name, gitURL, gitBranch, app.buildCommand, app.outputDirectory, app.targetType, notify,
                        app.maxFiles, app.maxBytes, downloads, allowedTypes, app.keepDeployments, app.keepDays,
                        webhookNonce ?? nil, now, now, buildEnv, buildSecrets,
                    ])
            } else {
                try db.execute(
                    sql: """
                        UPDATE registered_apps SET git_url = ?, git_branch = ?, build_command = ?, output_dir = ?, target_type = ?,
                            notify = ?, max_files = ?, max_bytes = ?, downloads = ?, allowed_types = ?, keep_deployments = ?,
                            keep_days = ?, build_env = ?, build_secrets = ?, updated_at = ? WHERE name = ?
                        """,
                    arguments: [
                        gitURL, gitBranch, app.buildCommand, app.outputDirectory, app.targetType, notify,
                        app.maxFiles, app.maxBytes, downloads, allowedTypes, app.keepDeployments, app.keepDays,
                        buildEnv, buildSecrets, now, app.name,
                    ])
                if let webhookNonce {
                    try db.execute(sql: "UPDATE registered_apps SET webhook_nonce = ? WHERE name = ?", arguments: [webhookNonce, app.name])
                }
            }
            let current = Set(try String.fetchAll(db, sql: "SELECT hostname FROM app_hostnames WHERE app = ?", arguments: [app.name]))
            let wanted = Set(app.hostnames)
            for gone in current.subtracting(wanted) {
                try db.execute(sql: "DELETE FROM app_hostnames WHERE hostname = ?", arguments: [gone])
            }
            for added in wanted.subtracting(current) {
                try db.execute(sql: "INSERT INTO app_hostnames (hostname, app) VALUES (?, ?)", arguments: [added, app.name])
            }
        }
    }

    /// Removes an app from the registry (its host names and tokens with it). Its deployments stay.
    public func removeRegisteredApp(_ name: String) throws {
        try pool.write { db in
            try db.execute(sql: "DELETE FROM registered_apps WHERE name = ?", arguments: [name])
            if db.changesCount == 0 { throw RegistryError.notRegistered(name) }
        }
    }

    /// The nonce the app's webhook secret is derived from (nil: no secret).
    public func webhookNonce(app: String) throws -> String? {
        try pool.read { db in
            try String.fetchOne(db, sql: "SELECT webhook_nonce FROM registered_apps WHERE name = ?", arguments: [app])
        }
    }

    /// What every build of `app` gets: its registry variables and its secrets, opened (empty for
    /// an app that is not registered). Throws when a sealed secret does not open (its key file
    /// lost or replaced): a build must not run without a secret it was given.
    public func appBuildEnvironment(_ app: String) throws -> (variables: [String: String], secrets: [String: String]) {
        guard
            let row = try pool.read({ db in
                try Row.fetchOne(db, sql: "SELECT build_env, build_secrets FROM registered_apps WHERE name = ?", arguments: [app])
            })
        else { return ([:], [:]) }
        let envText: String = row["build_env"] ?? "{}"
        let secretsText: String = row["build_secrets"] ?? "{}"
        let variables = (try? JSONDecoder().decode([String: String].self, from: Data(envText.utf8))) ?? [:]
        let sealed = (try? JSONDecoder().decode([String: String].self, from: Data(secretsText.utf8))) ?? [:]
        let box = BuildSecretBox(storePath: path)
        var secrets: [String: String] = [:]
        for (name, value) in sealed { secrets[name] = try box.open(value, app: app, name: name) }
        return (variables, secrets)
    }

    // MARK: tokens

    public func insertToken(_ token: AppTokenRecord) throws {
        try pool.write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM registered_apps WHERE name = ?", arguments: [token.app]) ?? false else {
                throw RegistryError.notRegistered(token.app)
            }
            try db.execute(
                sql: "INSERT INTO app_tokens (id, app, scope, secret_sha256, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [token.id, token.app, token.scope.rawValue, token.secretSHA256, token.createdAt, token.revokedAt])
        }
    }

    /// A token by id (revoked ones included), or nil.
    public func token(id: String) throws -> AppTokenRecord? {
        try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM app_tokens WHERE id = ?", arguments: [id]).map(Self.token(from:))
        }
    }

    /// An app's tokens, newest first.
    public func tokens(app: String) throws -> [AppTokenRecord] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM app_tokens WHERE app = ? ORDER BY created_at DESC, id", arguments: [app]).map(Self.token(from:))
        }
    }

    /// Marks a token of `app` revoked (idempotent); throws when the app has no such token.
    public func revokeToken(id: String, app: String) throws {
        try pool.write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM app_tokens WHERE id = ? AND app = ?", arguments: [id, app]) ?? false else {
                throw RegistryError.tokenNotFound(id)
            }
            try db.execute(
                sql: "UPDATE app_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                arguments: [Int64(Date().timeIntervalSince1970), id])
        }
    }

    /// Replaces the secret digest of a live token of `app` (rotation: the old secret stops working).
    public func replaceTokenSecret(id: String, app: String, secretSHA256: String) throws {
        try pool.write { db in
            try db.execute(
                sql: "UPDATE app_tokens SET secret_sha256 = ?, created_at = ? WHERE id = ? AND app = ? AND revoked_at IS NULL",
                arguments: [secretSHA256, Int64(Date().timeIntervalSince1970), id, app])
            if db.changesCount == 0 { throw RegistryError.tokenNotFound(id) }
        }
    }

    private static func token(from row: Row) -> AppTokenRecord {
        AppTokenRecord(
            id: row["id"], app: row["app"], scope: AppTokenRecord.Scope(rawValue: row["scope"]) ?? .read,
            secretSHA256: row["secret_sha256"], createdAt: row["created_at"], revokedAt: row["revoked_at"])
    }

    private static func app(from row: Row, _ db: Database) throws -> RegisteredApp {
        let name: String = row["name"]
        let hosts = try String.fetchAll(db, sql: "SELECT hostname FROM app_hostnames WHERE app = ? ORDER BY hostname", arguments: [name])
        let gitURL: String? = row["git_url"]
        let gitBranch: String? = row["git_branch"]
        let notifyText: String = row["notify"]
        let notify = (try? JSONDecoder().decode([String].self, from: Data(notifyText.utf8))) ?? []
        let secret: String? = row["webhook_nonce"]
        let downloadsText: String = row["downloads"] ?? "[]"
        let downloads = (try? JSONDecoder().decode([String].self, from: Data(downloadsText.utf8))) ?? []
        let allowedText: String = row["allowed_types"] ?? "[]"
        let allowedTypes = (try? JSONDecoder().decode([String].self, from: Data(allowedText.utf8))) ?? []
        let envText: String = row["build_env"] ?? "{}"
        let buildEnv = (try? JSONDecoder().decode([String: String].self, from: Data(envText.utf8))) ?? [:]
        let secretsText: String = row["build_secrets"] ?? "{}"
        let secretNames = ((try? JSONDecoder().decode([String: String].self, from: Data(secretsText.utf8))) ?? [:]).keys.sorted()
        return RegisteredApp(
            name: name, hostnames: hosts,
            source: gitURL.map { .git(url: $0, branch: gitBranch ?? "main") } ?? .uploads,
            buildCommand: row["build_command"], outputDirectory: row["output_dir"], targetType: row["target_type"],
            notify: notify, maxFiles: row["max_files"], maxBytes: row["max_bytes"], downloads: downloads,
            allowedTypes: allowedTypes, keepDeployments: row["keep_deployments"], keepDays: row["keep_days"],
            buildEnv: buildEnv, buildSecretNames: secretNames, hasWebhookSecret: secret != nil,
            createdAt: row["created_at"], updatedAt: row["updated_at"])
    }
}
