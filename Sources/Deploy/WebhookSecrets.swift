import Crypto
import Foundation
import Glibc

/// Webhook secrets without keeping them in the database. A push webhook is signed by the forge
/// with the shared secret itself (GitHub's `X-Hub-Signature-256` is an HMAC keyed with it), so
/// the server must be able to recompute the secret — a digest alone would not do. Instead of
/// storing it, the registry stores a random nonce per app, and the secret is
/// `HMAC-SHA256(key, "wharf-webhook" ‖ app ‖ nonce)` with a key kept in `<store>/webhook-key`
/// (32 random bytes as hex, created 0600 with O_EXCL beside the admin token). A copy of
/// `store.sqlite` alone yields no secret; rotating an app's secret is a new nonce.
public struct WebhookSecrets: Sendable {
    public let keyPath: String

    public init(storePath: String) {
        keyPath = storePath + "/webhook-key"
    }

    /// The secret for `app` with `nonce`, 64 hex digits.
    public func secret(app: String, nonce: String) throws -> String {
        let key = SymmetricKey(data: try loadOrCreateKey())
        let message = Array("wharf-webhook\u{0}\(app)\u{0}\(nonce)".utf8)
        let code = HMAC<SHA256>.authenticationCode(for: message, using: key)
        return code.map { String(format: "%02x", $0) }.joined()
    }

    private func loadOrCreateKey() throws -> [UInt8] {
        let fd = Glibc.open(keyPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd >= 0 {
            defer { Glibc.close(fd) }
            fchmod(fd, 0o600)
            let bytes = Array((DeployToken.randomHex(bytes: 32) + "\n").utf8)
            guard Glibc.write(fd, bytes, bytes.count) == bytes.count, fsync(fd) == 0 else {
                unlink(keyPath)
                throw DeployError(500, "cannot write \(keyPath)")
            }
        } else if errno != EEXIST {
            throw DeployError(500, "cannot create \(keyPath): \(String(cString: strerror(errno)))")
        }
        guard let text = try? String(contentsOfFile: keyPath, encoding: .utf8) else {
            throw DeployError(500, "cannot read \(keyPath)")
        }
        let key = Array(text.trimmingCharacters(in: .whitespacesAndNewlines).utf8)
        guard key.count >= 32 else { throw DeployError(500, "\(keyPath) is too short to be a key") }
        return key
    }
}
