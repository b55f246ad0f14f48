import Crypto
import Foundation

/// The build cache key: SHA-256 over (source tree content hash, build config hash, dependency lock hash,
/// target, toolchain version). Each field is length-prefixed and the whole is tagged with a format
/// version, so no two different inputs can produce the same byte string.
struct BuildCacheKey: Sendable, Hashable, CustomStringConvertible {
    var sourceTreeHash: String
    var buildConfigHash: String
    var dependencyLockHash: String
    var target: String
    var toolchainVersion: String

    init(sourceTreeHash: String, buildConfigHash: String, dependencyLockHash: String, target: String, toolchainVersion: String) {
        self.sourceTreeHash = sourceTreeHash
        self.buildConfigHash = buildConfigHash
        self.dependencyLockHash = dependencyLockHash
        self.target = target
        self.toolchainVersion = toolchainVersion
    }

    /// Computes every part from a source directory. `buildConfig` is the build's configuration as
    /// key/value pairs (command, build type, environment *names*, …); order does not matter.
    init(sourceDirectory: String, buildConfig: [String: String], target: String, toolchainVersion: String) throws {
        self.init(
            sourceTreeHash: try SourceTreeHasher.hash(directory: sourceDirectory),
            buildConfigHash: Self.hashConfig(buildConfig),
            dependencyLockHash: try SourceTreeHasher.dependencyLockHash(directory: sourceDirectory),
            target: target, toolchainVersion: toolchainVersion)
    }

    /// 64 lowercase hex digits.
    var hex: String {
        var hasher = SHA256()
        hasher.update(data: Data("wharf-build-cache-v1".utf8))
        for field in [sourceTreeHash, buildConfigHash, dependencyLockHash, target, toolchainVersion] {
            let bytes = Data(field.utf8)
            withUnsafeBytes(of: UInt64(bytes.count).bigEndian) { hasher.update(bufferPointer: $0) }
            hasher.update(data: bytes)
        }
        return hasher.finalize().hexString
    }

    public var description: String { hex }

    /// SHA-256 of the sorted `key=value` lines (length-prefixed), hex.
    static func hashConfig(_ config: [String: String]) -> String {
        var hasher = SHA256()
        for (key, value) in config.sorted(by: { $0.key < $1.key }) {
            for part in [key, value] {
                let bytes = Data(part.utf8)
                withUnsafeBytes(of: UInt64(bytes.count).bigEndian) { hasher.update(bufferPointer: $0) }
                hasher.update(data: bytes)
            }
        }
        return hasher.finalize().hexString
    }
}

extension Sequence where Element == UInt8 {
    var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
