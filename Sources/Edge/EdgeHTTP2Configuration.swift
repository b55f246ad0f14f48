import HTTP2

/// The edge's HTTP/2 keys (`edge.h2.*`): whether ALPN offers `h2`, whether the plain listener
/// accepts h2c with prior knowledge, and the protocol limits (`HTTP2Settings`).
public struct EdgeHTTP2Configuration: Sendable, Equatable {
    /// Offer `h2` in ALPN on the TLS listener (before `http/1.1`).
    public var enabled = true
    /// Accept cleartext HTTP/2 with prior knowledge (a client opening with the connection
    /// preface) on the plain listener. Off by default: browsers never do it, proxies may.
    public var cleartext = false
    public var settings = HTTP2Settings()

    public init() {}
}
