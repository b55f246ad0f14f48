internal import COpenSSL

/// One TLS connection's protocol state, driven entirely by the caller's bytes: no socket, no
/// thread, no blocking. Ciphertext from the network goes in with `receive`; plaintext comes out
/// through its callback. Plaintext to send goes in with `encrypt`; the resulting records (and
/// any handshake messages or alerts) are taken with `takeOutput` and written to the socket.
/// OpenSSL sits between two memory BIOs, as nginx and h2o drive it over their own event loops.
///
/// Not thread-safe: use one session from one thread (its connection's loop).
public final class TLSSession {
    /// Where the session stands.
    public enum State: Sendable, Equatable {
        case handshaking
        case established
        /// The peer sent close_notify; nothing more will be received.
        case closedByPeer
        /// A fatal error: an alert is in the output; send it, then close the connection.
        case failed(TLSError)
    }

    private let ssl: OpaquePointer
    private let input: OpaquePointer
    private let output: OpaquePointer
    /// Retained so SNI and ALPN callbacks (which reach it through an unretained pointer) stay valid.
    private let serverContext: TLSServerContext?
    private let clientContext: TLSClientContext?
    public private(set) var state: State = .handshaking
    /// 0 while handshaking, 1 once established, 2 when OpenSSL's message callback saw a ClientHello after that.
    private let renegotiationSeen = UnsafeMutablePointer<Int32>.allocate(capacity: 1)

    init(serverContext: TLSServerContext) {
        self.serverContext = serverContext
        self.clientContext = nil
        ssl = SSL_new(serverContext.entries[0].context)!
        (input, output) = TLSSession.attachBIOs(ssl)
        renegotiationSeen.pointee = 0
        wharf_watch_renegotiation(ssl, renegotiationSeen)
        SSL_set_accept_state(ssl)
    }

    init(clientContext: TLSClientContext, serverName: String?) {
        self.serverContext = nil
        self.clientContext = clientContext
        ssl = SSL_new(clientContext.context)!
        (input, output) = TLSSession.attachBIOs(ssl)
        renegotiationSeen.pointee = 0
        if let serverName {
            _ = wharf_SSL_set_tlsext_host_name(ssl, serverName)
            if serverName.first?.isLetter == true {
                SSL_set1_host(ssl, serverName)
            } else {
                X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), serverName)
            }
        }
        SSL_set_connect_state(ssl)
    }

    private static func attachBIOs(_ ssl: OpaquePointer) -> (OpaquePointer, OpaquePointer) {
        let input = BIO_new(BIO_s_mem())!
        let output = BIO_new(BIO_s_mem())!
        // An empty input BIO means "wait for more", not end of file.
        _ = wharf_BIO_set_mem_eof_return(input, -1)
        _ = wharf_BIO_set_mem_eof_return(output, -1)
        SSL_set_bio(ssl, input, output)  // the SSL owns both from here
        return (input, output)
    }

    deinit {
        SSL_free(ssl)
        renegotiationSeen.deallocate()
    }

    public var isHandshakeComplete: Bool { SSL_is_init_finished(ssl) == 1 }

    /// Ciphertext and plaintext bytes not yet consumed (input buffered while the caller paused reading).
    public var bufferedInputCount: Int { Int(BIO_ctrl_pending(input)) + Int(SSL_pending(ssl)) }

    /// Buffers `ciphertext` without processing it (the caller paused delivery); `receive(nil,…)` later.
    public func buffer(_ ciphertext: UnsafeRawBufferPointer) {
        guard ciphertext.count > 0 else { return }
        _ = BIO_write(input, ciphertext.baseAddress, Int32(ciphertext.count))
    }

    /// Feeds `ciphertext` (nil: only what is buffered), advances the handshake and delivers
    /// every complete record's plaintext to `deliver` (a view valid only during the call).
    /// Returns the state afterwards; check `hasOutput` whatever it is.
    @discardableResult
    public func receive(_ ciphertext: UnsafeRawBufferPointer?, deliver: (UnsafeRawBufferPointer) -> Void) -> State {
        if let ciphertext { buffer(ciphertext) }
        guard state == .handshaking || state == .established else { return state }
        if state == .handshaking {
            OpenSSLErrors.clear()
            let result = SSL_do_handshake(ssl)
            if result != 1 {
                let code = SSL_get_error(ssl, result)
                if code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE { return state }
                state = .failed(TLSError.drained(.protocolViolation, "handshake failed"))
                return state
            }
            state = .established
            renegotiationSeen.pointee = 1
        }
        return withUnsafeTemporaryAllocation(byteCount: 16 * 1024, alignment: 16) { scratch -> State in
            while true {
                OpenSSLErrors.clear()
                let count = SSL_read(ssl, scratch.baseAddress, Int32(scratch.count))
                if count > 0 {
                    deliver(UnsafeRawBufferPointer(start: scratch.baseAddress, count: Int(count)))
                    continue
                }
                switch SSL_get_error(ssl, count) {
                case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                    if renegotiationSeen.pointee == 2 {
                        // OpenSSL's no_renegotiation alert is in the output; then the connection closes.
                        state = .failed(TLSError(.protocolViolation, "renegotiation refused"))
                    }
                    return state
                case SSL_ERROR_ZERO_RETURN:
                    state = .closedByPeer
                default:
                    state = .failed(TLSError.drained(.protocolViolation, "record layer error"))
                }
                return state
            }
        }
    }

    /// Client side, TLS 1.2: asks the server to renegotiate (a Wharf server refuses and closes).
    /// Returns false when this session cannot ask (a server session, or TLS 1.3).
    public func requestRenegotiation() -> Bool {
        guard clientContext != nil, state == .established, SSL_renegotiate(ssl) == 1 else { return false }
        OpenSSLErrors.clear()
        _ = SSL_do_handshake(ssl)
        return true
    }

    /// Encrypts `plaintext` into records (taken with `takeOutput`). Fails only after the session failed.
    public func encrypt(_ plaintext: UnsafeRawBufferPointer) throws(TLSError) {
        guard plaintext.count > 0 else { return }
        if case .failed(let error) = state { throw error }
        OpenSSLErrors.clear()
        // A memory BIO takes everything: one call writes every record.
        let written = SSL_write(ssl, plaintext.baseAddress, Int32(plaintext.count))
        if written != Int32(plaintext.count) {
            let error = TLSError.drained(.protocolViolation, "encrypting failed")
            state = .failed(error)
            throw error
        }
    }

    /// Queues close_notify (our side is done sending).
    public func shutdown() {
        guard isHandshakeComplete else { return }
        OpenSSLErrors.clear()
        _ = SSL_shutdown(ssl)
        OpenSSLErrors.clear()
    }

    /// Bytes waiting to be sent.
    public var outputCount: Int { Int(BIO_ctrl_pending(output)) }
    public var hasOutput: Bool { BIO_ctrl_pending(output) > 0 }

    /// Everything waiting to be sent, in order (empty when nothing is).
    public func takeOutput() -> [UInt8] {
        let count = Int(BIO_ctrl_pending(output))
        guard count > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            let read = BIO_read(output, buffer.baseAddress, Int32(count))
            initialized = max(0, Int(read))
        }
    }

    // MARK: what was negotiated

    /// The ALPN protocol agreed on (`http/1.1`), nil when the client sent none.
    public var applicationProtocol: String? {
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    /// The SNI host name the client asked for.
    public var serverName: String? {
        SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name).map { String(cString: $0) }
    }

    /// `TLSv1.2` or `TLSv1.3`.
    public var protocolVersion: String { String(cString: SSL_get_version(ssl)) }

    /// True when this handshake resumed an earlier session (a ticket).
    public var isResumed: Bool { SSL_session_reused(ssl) == 1 }

    /// The names in the peer's certificate (a client session's view of the server).
    public var peerCertificateNames: [String] {
        guard let peer = SSL_get1_peer_certificate(ssl) else { return [] }
        defer { X509_free(peer) }
        return CertificateInspection.subjectAltNames(peer)
    }
}
