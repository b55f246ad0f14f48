internal import COpenSSL

/// A TLS failure with OpenSSL's own reason text (from its per-thread error queue), so a log line
/// or a `check-config` message says what went wrong ("certificate has expired", "wrong version
/// number", …) without any OpenSSL type leaving the module.
public struct TLSError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A certificate or key file that cannot be read, parsed or used.
        case certificate
        /// The peer broke the protocol (garbage, unsupported version, bad record, renegotiation…).
        case protocolViolation
        /// The context could not be set up (out of memory, unsupported option).
        case setup
    }

    public var kind: Kind
    public var reason: String

    public init(_ kind: Kind, _ reason: String) {
        self.kind = kind
        self.reason = reason
    }

    public var description: String { reason }

    /// `what`, followed by every queued OpenSSL reason (the queue is emptied).
    static func drained(_ kind: Kind, _ what: String) -> TLSError {
        let details = OpenSSLErrors.drain()
        return TLSError(kind, details.isEmpty ? what : "\(what): \(details.joined(separator: "; "))")
    }
}

/// OpenSSL's per-thread error queue.
enum OpenSSLErrors {
    /// Clears stale entries before an operation whose failure we will report (SSL_get_error needs
    /// an empty queue). Peeking first is cheaper than clearing every slot each time.
    @inline(__always) static func clear() {
        if ERR_peek_error() != 0 { ERR_clear_error() }
    }

    /// The queued reasons, oldest first (library-independent short strings such as "wrong version number").
    static func drain() -> [String] {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            if let text = ERR_reason_error_string(code) {
                reasons.append(String(cString: text))
            } else {
                var buffer = [CChar](repeating: 0, count: 256)
                ERR_error_string_n(code, &buffer, buffer.count)
                reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
        }
        return reasons
    }
}
