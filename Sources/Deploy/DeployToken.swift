import ArtifactStore
import Crypto
import Foundation

/// A per-app deploy token: `wharf_<id>_<secret>`, where the id (16 hex digits) names the stored
/// record and may be printed, and the secret (64 hex digits, 256 random bits) is shown once, when
/// the token is made or rotated. Only the SHA-256 of the secret is stored: a plain digest is
/// enough for a random high-entropy secret (no password stretching needed), and a stolen
/// database yields no usable token. Checking compares digests in constant time.
public struct DeployToken: Sendable, Equatable {
    public var id: String
    public var secret: String

    /// The full token string a client presents.
    public var text: String { "wharf_\(id)_\(secret)" }

    /// A fresh token from the system CSPRNG.
    public static func generate() -> DeployToken {
        DeployToken(id: randomHex(bytes: 8), secret: randomHex(bytes: 32))
    }

    /// Splits a presented token; nil if it does not have the token's shape.
    public init?(parsing text: String) {
        let parts = text.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "wharf", parts[1].utf8.count == 16, parts[2].utf8.count == 64,
            DeployToken.isHex(parts[1]), DeployToken.isHex(parts[2])
        else { return nil }
        id = String(parts[1])
        secret = String(parts[2])
    }

    init(id: String, secret: String) {
        self.id = id
        self.secret = secret
    }

    /// SHA-256 of the secret, hex: what the registry stores.
    var secretDigest: String { ContentHash.of(Array(secret.utf8)) }

    /// Whether this token's secret hashes to `storedDigest`, compared without an early exit.
    public func matches(storedDigest: String) -> Bool {
        DeployToken.constantTimeEquals(Array(secretDigest.utf8), Array(storedDigest.utf8))
    }

    /// Equal length and equal bytes, examining every byte whatever differs first.
    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<a.count { difference |= a[i] ^ b[i] }
        return difference == 0
    }

    static func randomHex(bytes: Int) -> String {
        var rng = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for _ in 0..<bytes {
            let byte = UInt8.random(in: .min ... .max, using: &rng)
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func isHex(_ s: Substring) -> Bool {
        s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }
}

/// Who a request is, once its credential has been checked.
public enum DeployGrant: Sendable, Equatable {
    case admin
    case app(name: String, scope: AppTokenRecord.Scope, tokenID: String)

    /// For the deployment's metadata: "admin" or "token:<id>".
    var label: String {
        switch self {
        case .admin: "admin"
        case .app(_, _, let id): "token:\(id)"
        }
    }
}

/// Checks a request's credential against the admin token (already decided by the server) and
/// the registry's deploy tokens: 401 without a valid token, 403 for a token of another app or a
/// read-only token on a mutation. Nothing is looked at before the credential passes.
public struct DeployAuthorizer: Sendable {
    let store: Store

    public init(store: Store) { self.store = store }

    /// The grant for `app` needing `scope`, or a 401/403 `DeployError`.
    public func authorize(credential: String?, isAdmin: Bool, app: String, need: AppTokenRecord.Scope) throws -> DeployGrant {
        if isAdmin { return .admin }
        guard let credential, let token = DeployToken(parsing: credential),
            let record = try store.token(id: token.id), record.revokedAt == nil,
            token.matches(storedDigest: record.secretSHA256)
        else {
            throw DeployError(401, "a valid bearer token is required")
        }
        guard record.app == app else { throw DeployError(403, "this token is for another app") }
        if need == .deploy && record.scope != .deploy { throw DeployError(403, "this token is read-only") }
        return .app(name: record.app, scope: record.scope, tokenID: record.id)
    }
}
