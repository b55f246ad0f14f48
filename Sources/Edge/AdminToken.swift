import Foundation
import Glibc

/// The bearer token that guards the admin API, and where it came from.
///
/// Resolution order: the `WHARF_ADMIN_TOKEN` environment variable, else the file
/// `<store>/admin-token`; when neither exists the file is created (mode 0600, `O_EXCL` so two
/// starting processes cannot both write one) holding 32 random bytes as 64 hex digits.
/// Presented tokens are compared in constant time (see `matches`).
public struct AdminToken: Sendable {
    /// Where the token was read from (printed at start-up so an operator can find it).
    public enum Source: Sendable, Equatable, CustomStringConvertible {
        case environment
        /// `created`: this start generated the file.
        case file(path: String, created: Bool)

        public var description: String {
            switch self {
            case .environment: "the WHARF_ADMIN_TOKEN environment variable"
            case .file(let path, let created): created ? "\(path) (created)" : path
            }
        }
    }

    /// Why no token could be had.
    public enum LoadError: Error, CustomStringConvertible {
        case emptyEnvironment
        case emptyFile(String)
        case io(String, String)

        public var description: String {
            switch self {
            case .emptyEnvironment: "WHARF_ADMIN_TOKEN is set but empty"
            case .emptyFile(let path): "admin token file \(path) is empty"
            case .io(let path, let reason): "admin token file \(path): \(reason)"
            }
        }
    }

    /// The environment variable that overrides the token file.
    public static let environmentVariable = "WHARF_ADMIN_TOKEN"
    /// The token file's name inside the store directory.
    public static let fileName = "admin-token"

    let secret: [UInt8]
    public let source: Source

    /// A token given directly (tests, embedding). Must not be empty.
    public init(_ secret: String, source: Source = .environment) {
        precondition(!secret.isEmpty, "an empty admin token would admit anyone")
        self.secret = Array(secret.utf8)
        self.source = source
    }

    /// Reads the token from `environment`, else from `<storePath>/admin-token`, creating that
    /// file with a fresh random token when it does not exist.
    public static func resolve(
        storePath: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> AdminToken {
        if let value = environment[environmentVariable] {
            let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty else { throw LoadError.emptyEnvironment }
            return AdminToken(trimmed, source: .environment)
        }
        let path = (storePath.hasSuffix("/") ? String(storePath.dropLast()) : storePath) + "/" + fileName
        let created = try createIfMissing(path)
        let text = try read(path).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw LoadError.emptyFile(path) }
        return AdminToken(text, source: .file(path: path, created: created))
    }

    /// 32 bytes from the system's CSPRNG (getrandom), as 64 lower-case hex digits.
    public static func generate() -> String {
        var rng = SystemRandomNumberGenerator()
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for _ in 0..<32 {
            let byte = UInt8.random(in: .min ... .max, using: &rng)
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Creates the file with mode 0600 and a new token; false if it already existed.
    private static func createIfMissing(_ path: String) throws -> Bool {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0 {
            if errno == EEXIST { return false }
            throw LoadError.io(path, String(cString: strerror(errno)))
        }
        defer { Glibc.close(fd) }
        // The umask cannot widen 0600, but make the mode explicit whatever created the fd.
        fchmod(fd, 0o600)
        let bytes = Array((generate() + "\n").utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let reason = String(cString: strerror(errno))
                unlink(path)
                throw LoadError.io(path, reason)
            }
            written += n
        }
        guard fsync(fd) == 0 else { throw LoadError.io(path, String(cString: strerror(errno))) }
        return true
    }

    private static func read(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LoadError.io(path, "cannot be read")
        }
        guard data.count <= 4096 else { throw LoadError.io(path, "is larger than 4 KiB; not a token file") }
        return String(decoding: data, as: UTF8.self)
    }

    /// Whether `presented` equals the secret, in time that depends only on `presented.count`.
    public func matches(_ presented: some Collection<UInt8>) -> Bool {
        AdminToken.constantTimeEquals(presented, secret).equal
    }

    /// Compares without an early exit and without a length-dependent shortcut: every presented
    /// byte is XORed with a secret byte (the secret is walked cyclically, so the loop's length is
    /// the attacker's own input length and reveals nothing about the secret's), the differences
    /// are ORed into one accumulator that starts as `lengthA XOR lengthB`, and only the final
    /// accumulator is tested.
    /// `compared` is how many byte pairs were examined (always `presented.count`; tests check it).
    static func constantTimeEquals(_ presented: some Collection<UInt8>, _ secret: [UInt8]) -> (equal: Bool, compared: Int) {
        guard !secret.isEmpty else { return (false, 0) }
        var difference = UInt(bitPattern: presented.count ^ secret.count)
        var compared = 0
        secret.withUnsafeBufferPointer { s in
            for byte in presented {
                // Index by position only (never by content); `%` costs the same for every byte.
                difference |= UInt(byte ^ s[compared % s.count])
                compared &+= 1
            }
        }
        return (difference == 0 && !presented.isEmpty, compared)
    }
}
