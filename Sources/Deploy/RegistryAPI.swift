import ArtifactStore

/// The registry over the admin API. Mutations are admin-only (the server checks the admin token
/// before these run); `show` also answers the app's own tokens. No response carries a stored
/// secret: a token or webhook secret appears only in the answer that created it.
///
/// | route | |
/// |---|---|
/// | `GET /_wharf/api/registry` | every registered app |
/// | `POST /_wharf/api/registry` | `{"name":…, settings…}` → 201, the app, its first deploy token, its webhook secret |
/// | `GET /_wharf/api/registry/{app}` | one app (admin or a token of the app) |
/// | `PATCH /_wharf/api/registry/{app}` | settings; `"rotateWebhookSecret": true` answers a new secret |
/// | `DELETE /_wharf/api/registry/{app}` | unregister (deployments stay) |
/// | `GET /_wharf/api/registry/{app}/tokens` | ids, scopes, dates |
/// | `POST /_wharf/api/registry/{app}/tokens` | `{"scope":"deploy"|"read"}` → 201 with the token |
/// | `POST /_wharf/api/registry/{app}/tokens/{id}/rotate` | the same id with a new secret |
/// | `DELETE /_wharf/api/registry/{app}/tokens/{id}` | revoke |
public struct RegistryAPI: Sendable {
    let registry: AppRegistryService
    let authorizer: DeployAuthorizer

    public init(store: Store) {
        registry = AppRegistryService(store: store)
        authorizer = DeployAuthorizer(store: store)
    }

    /// JSON view of an app (no secrets).
    struct AppView: Encodable {
        var name: String
        var hostnames: [String]
        var source: String
        var git: String?
        var branch: String?
        var buildCommand: String?
        var outputDir: String?
        var targetType: String
        var notify: [String]
        var maxFiles: Int?
        var maxBytes: Int64?
        var downloads: [String]
        var allowedTypes: [String]
        var keepDeployments: Int?
        var keepDays: Int?
        /// Build variables, readable.
        var env: [String: String]
        /// Names of the build secrets only: their values are write-only.
        var secrets: [String]
        var webhookSecretSet: Bool
        var createdAt: Int64
        var updatedAt: Int64

        init(_ app: RegisteredApp) {
            name = app.name
            hostnames = app.hostnames
            switch app.source {
            case .uploads: source = "uploads"
            case .git(let url, let b):
                source = "git"
                git = url
                branch = b
            }
            buildCommand = app.buildCommand
            outputDir = app.outputDirectory
            targetType = app.targetType
            notify = app.notify
            maxFiles = app.maxFiles
            maxBytes = app.maxBytes
            downloads = app.downloads
            allowedTypes = app.allowedTypes
            keepDeployments = app.keepDeployments
            keepDays = app.keepDays
            env = app.buildEnv
            secrets = app.buildSecretNames
            webhookSecretSet = app.hasWebhookSecret
            createdAt = app.createdAt
            updatedAt = app.updatedAt
        }
    }

    struct TokenView: Encodable {
        var id: String
        var scope: String
        var createdAt: Int64
        var revokedAt: Int64?
        /// Only in the answer that made it.
        var token: String?
    }

    public func list(_ request: DeployRequest) -> DeployResponse {
        respond { .json(["apps": try registry.list().map(AppView.init)]) }
    }

    public func add(_ request: DeployRequest) -> DeployResponse {
        respond {
            let json = try JSONFields(request.body)
            try json.allowOnly(AppSettings.keys.union(["name"]))
            guard let name = try json.string("name") else { throw DeployError(400, "wrong shape: \"name\" (a string) is required") }
            let created = try registry.add(name, settings: try AppSettings(json: json))
            struct Body: Encodable {
                var app: AppView
                var token: TokenView
                var webhookSecret: String
            }
            return .json(
                Body(
                    app: AppView(created.app),
                    token: TokenView(id: created.token.id, scope: "deploy", createdAt: created.app.createdAt, token: created.token.text),
                    webhookSecret: created.webhookSecret), status: 201)
        }
    }

    public func show(_ request: DeployRequest) -> DeployResponse {
        respond {
            let app = request.parameter("app")
            _ = try authorizer.authorize(credential: request.credential, isAdmin: request.isAdmin, app: app, need: .read)
            return .json(AppView(try registry.show(app)))
        }
    }

    public func set(_ request: DeployRequest) -> DeployResponse {
        respond {
            let json = try JSONFields(request.body)
            try json.allowOnly(AppSettings.keys.union(["rotateWebhookSecret"]))
            let name = request.parameter("app")
            let app = try registry.set(name, settings: try AppSettings(json: json))
            if try json.bool("rotateWebhookSecret") == true {
                struct Body: Encodable {
                    var app: AppView
                    var webhookSecret: String
                }
                return .json(Body(app: AppView(app), webhookSecret: try registry.rotateWebhookSecret(name)))
            }
            return .json(AppView(app))
        }
    }

    public func remove(_ request: DeployRequest) -> DeployResponse {
        respond {
            try registry.remove(request.parameter("app"))
            return .json(["removed": request.parameter("app")])
        }
    }

    public func tokens(_ request: DeployRequest) -> DeployResponse {
        respond {
            let list = try registry.tokens(app: request.parameter("app")).map {
                TokenView(id: $0.id, scope: $0.scope.rawValue, createdAt: $0.createdAt, revokedAt: $0.revokedAt)
            }
            return .json(["tokens": list])
        }
    }

    public func createToken(_ request: DeployRequest) -> DeployResponse {
        respond {
            let json = try JSONFields(request.body, optional: true)
            try json.allowOnly(["scope"])
            let scopeName = try json.string("scope") ?? "deploy"
            guard let scope = AppTokenRecord.Scope(rawValue: scopeName) else {
                throw DeployError(400, "scope must be deploy or read")
            }
            let token = try registry.createToken(app: request.parameter("app"), scope: scope)
            return .json(TokenView(id: token.id, scope: scope.rawValue, createdAt: 0, token: token.text), status: 201)
        }
    }

    public func rotateToken(_ request: DeployRequest) -> DeployResponse {
        respond {
            let app = request.parameter("app")
            let token = try registry.rotateToken(app: app, id: request.parameter("id"))
            let record = try registry.store.token(id: token.id)
            return .json(
                TokenView(
                    id: token.id, scope: record?.scope.rawValue ?? "deploy", createdAt: record?.createdAt ?? 0,
                    token: token.text))
        }
    }

    public func revokeToken(_ request: DeployRequest) -> DeployResponse {
        respond {
            try registry.revokeToken(app: request.parameter("app"), id: request.parameter("id"))
            return .json(["revoked": request.parameter("id")])
        }
    }
}

/// Runs a handler body, turning a `DeployError` into its response (other errors propagate as 500
/// through the caller's `respond`).
func respond(_ body: () throws -> DeployResponse) -> DeployResponse {
    do {
        return try body()
    } catch let error as DeployError {
        return error.response
    } catch let error as StoreError {
        switch error {
        case .unknownApp, .deploymentNotFound: return DeployError(404, error.description).response
        case .unsafeAppName, .unsafeFileName, .fileTooLarge, .notARegularFile, .symlinkEscapesRoot:
            return DeployError(400, error.description).response
        case .storeFull: return DeployError(507, error.description).response
        default: return DeployError(500, error.description).response
        }
    } catch {
        return DeployError(500, "internal error: \(error)").response
    }
}
