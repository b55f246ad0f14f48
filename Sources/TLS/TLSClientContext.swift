internal import COpenSSL

/// The client side, for Wharf's own outgoing connections and tests: trusts the CAs in a PEM file,
/// verifies the peer's chain and name, offers ALPN, TLS 1.2 and 1.3 only.
public final class TLSClientContext: @unchecked Sendable {
    let context: OpaquePointer

    /// - Parameters:
    ///   - trustedCAFile: PEM CA certificates to trust (nil: OpenSSL's default store).
    ///   - alpn: protocols to offer, in preference order.
    ///   - tls12Only: offer TLS 1.2 alone (tests of 1.2-only behaviour such as renegotiation).
    public init(trustedCAFile: String?, alpn: [String] = ["http/1.1"], tls12Only: Bool = false) throws(TLSError) {
        OpenSSLErrors.clear()
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw TLSError.drained(.setup, "SSL_CTX_new failed") }
        self.context = context
        _ = wharf_SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION)
        if tls12Only { _ = wharf_SSL_CTX_set_max_proto_version(context, TLS1_2_VERSION) }
        if let trustedCAFile {
            if SSL_CTX_load_verify_locations(context, trustedCAFile, nil) != 1 {
                throw TLSError.drained(.certificate, "\(trustedCAFile): cannot load trusted CA certificates")
            }
        } else {
            SSL_CTX_set_default_verify_paths(context)
        }
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        var wire: [UInt8] = []
        for name in alpn {
            wire.append(UInt8(name.utf8.count))
            wire.append(contentsOf: name.utf8)
        }
        if !wire.isEmpty { _ = SSL_CTX_set_alpn_protos(context, wire, UInt32(wire.count)) }
    }

    deinit { SSL_CTX_free(context) }

    /// A client session; `serverName` is sent as SNI and checked against the peer certificate.
    /// Call `receive(nil, …)` once to produce the ClientHello.
    public func makeSession(serverName: String?) -> TLSSession {
        TLSSession(clientContext: self, serverName: serverName)
    }
}
