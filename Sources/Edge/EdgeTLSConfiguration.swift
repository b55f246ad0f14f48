import TLS

/// The edge's HTTPS listener (`edge.tls.*`): where it listens, which certificates it presents,
/// and the per-app HTTPS policies. Present (non-nil in `EdgeConfiguration.tls`) when TLS is on.
public struct EdgeTLSConfiguration: Sendable, Equatable {
    public var listenHost = "127.0.0.1"
    public var listenPort = 8443
    /// PEM chain + key pairs; the first is the default, SNI picks others by their names. Empty
    /// means "use the development certificates under <store>/tls/" (the CLI fills them in).
    public var certificates: [TLSCertificateFiles] = []
    /// Refuse server names no certificate covers with an `unrecognized_name` alert (else they
    /// get the default certificate, as nginx answers them).
    public var strictServerNames = true
    /// How long a session-ticket key seals new tickets (it opens them for twice as long).
    public var ticketKeyRotationSeconds = 3600
    /// A client that has not finished its handshake by then is closed.
    public var handshakeTimeoutMs = 10_000
    /// Apps whose plain-HTTP requests get `308` to the same host and target over HTTPS; `*` = all.
    public var redirectApps: Set<String> = []
    /// Apps whose HTTPS responses carry `Strict-Transport-Security`; `*` = all. Off by default:
    /// browsers remember it for max-age, so it is for operators who mean it.
    public var hstsApps: Set<String> = []
    public var hstsMaxAgeSeconds = 31_536_000

    public init() {}

    func redirects(_ app: String) -> Bool { redirectApps.contains("*") || redirectApps.contains(app) }
    func hsts(_ app: String) -> Bool { hstsApps.contains("*") || hstsApps.contains(app) }

    /// Problems as (key, reason); certificate files are checked by loading them (`checkCertificates`).
    func problems(plainHost: String, plainPort: Int) -> [(key: String, reason: String)] {
        var found: [(String, String)] = []
        if !(0...65535).contains(listenPort) { found.append(("edge.tls.listen", "port \(listenPort) is outside 0…65535")) }
        if listenPort != 0 && listenPort == plainPort && listenHost == plainHost {
            found.append(("edge.tls.listen", "must differ from edge.listen"))
        }
        if ticketKeyRotationSeconds < 60 { found.append(("edge.tls.ticket_key_rotation_s", "must be at least 60 s")) }
        if handshakeTimeoutMs < 1 { found.append(("edge.tls.handshake_timeout_ms", "must be at least 1 ms")) }
        if hstsMaxAgeSeconds < 0 { found.append(("edge.tls.hsts_max_age", "must not be negative")) }
        return found
    }

    /// Loads every certificate as the server would; each failure names its file and reason
    /// (unreadable, not PEM, key mismatch, expired, not yet valid).
    public func checkCertificates() -> [(key: String, reason: String)] {
        certificates.enumerated().compactMap { index, files -> (key: String, reason: String)? in
            do throws(TLSError) {
                _ = try TLSServerContext(certificates: [files])
                return nil
            } catch {
                return ("edge.tls.certificates[\(index)]", error.reason)
            }
        }
    }
}
