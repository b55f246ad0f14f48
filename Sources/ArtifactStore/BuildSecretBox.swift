import Crypto
import Foundation
import Glibc

/// Seals per-app build secrets so that a copy of `store.sqlite` alone reveals none of them. Each
/// value is sealed with AES-256-GCM under a key kept in `<store>/build-secret-key` (32 random bytes
/// as hex, created 0600 with O_EXCL beside `webhook-key`), and the app and variable name are the
/// authenticated data, so a sealed value moved to another app or name does not open.
public struct BuildSecretBox: Sendable {
    public let keyPath: String

    public init(storePath: String) {
        keyPath = storePath + "/build-secret-key"
    }

    /// Why a secret could not be sealed or opened.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// `value` sealed for `app`'s variable `name`, as base64 text.
    public func seal(_ value: String, app: String, name: String) throws -> String {
        let box = try AES.GCM.seal(Array(value.utf8), using: try key(create: true), authenticating: Self.context(app: app, name: name))
        guard let combined = box.combined else { throw Failure(description: "cannot seal the secret \(name)") }
        return combined.base64EncodedString()
    }

    /// The value sealed by `seal(_:app:name:)`; throws when the key is gone or the text was tampered with.
    public func open(_ sealed: String, app: String, name: String) throws -> String {
        guard let data = Data(base64Encoded: sealed), let box = try? AES.GCM.SealedBox(combined: data),
            let plain = try? AES.GCM.open(box, using: try key(create: false), authenticating: Self.context(app: app, name: name))
        else {
            throw Failure(description: "the build secret \(name) of app \"\(app)\" cannot be opened with \(keyPath)")
        }
        return String(decoding: plain, as: UTF8.self)
    }

    static func context(app: String, name: String) -> [UInt8] {
        Array("wharf-build-secret\u{0}\(app)\u{0}\(name)".utf8)
    }

    private func key(create: Bool) throws -> SymmetricKey {
        if create {
            let fd = Glibc.open(keyPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if fd >= 0 {
                defer { Glibc.close(fd) }
                fchmod(fd, 0o600)
                let hex = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }.map { String(format: "%02x", $0) }.joined()
                let bytes = Array((hex + "\n").utf8)
                guard Glibc.write(fd, bytes, bytes.count) == bytes.count, fsync(fd) == 0 else {
                    unlink(keyPath)
                    throw Failure(description: "cannot write \(keyPath)")
                }
            } else if errno != EEXIST {
                throw Failure(description: "cannot create \(keyPath): \(String(cString: strerror(errno)))")
            }
        }
        guard let text = try? String(contentsOfFile: keyPath, encoding: .utf8) else {
            throw Failure(description: "cannot read \(keyPath)")
        }
        let hex = Array(text.trimmingCharacters(in: .whitespacesAndNewlines).utf8)
        guard hex.count == 64 else { throw Failure(description: "\(keyPath) is not a 256-bit hex key") }
        var raw: [UInt8] = []
        for index in stride(from: 0, to: 64, by: 2) {
            guard let byte = UInt8(String(decoding: hex[index..<index + 2], as: UTF8.self), radix: 16) else {
                throw Failure(description: "\(keyPath) is not a 256-bit hex key")
            }
            raw.append(byte)
        }
        return SymmetricKey(data: raw)
    }
}
