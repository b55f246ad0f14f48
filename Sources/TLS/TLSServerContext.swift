internal import COpenSSL
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The server side of TLS for one listener: every configured certificate, loaded and checked,
/// plus the protocol policy. Immutable once built and shared by every loop of the process (an
/// OpenSSL `SSL_CTX` is safe to use from several threads once configured), so the session-ticket
/// key is shared too and a ticket issued on one loop resumes on another. A reload builds a new
/// context (taking over the ticket key) and new handshakes use it; sessions keep the one they began with.
///
/// Policy: TLS 1.2 and 1.3 only; for 1.2 only ECDHE key exchange with AEAD ciphers (no RSA key
/// exchange, no CBC, no SHA-1 MACs), server cipher preference; no compression, no client
/// renegotiation; stateless session tickets; ALPN from `alpn` (`http/1.1` today).
/// The first certificate is the default; SNI picks another whose names match the requested host.
public final class TLSServerContext: @unchecked Sendable {
    /// Mozilla's "intermediate" TLS 1.2 list without DHE: ECDHE + AES-GCM / ChaCha20-Poly1305.
    static let tls12Ciphers =
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
    static let groups = "X25519:P-256:P-384"
    static let signatureAlgorithms =
        "ECDSA+SHA256:ECDSA+SHA384:ECDSA+SHA512:rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:rsa_pss_rsae_sha512:RSA+SHA256:RSA+SHA384:RSA+SHA512:ed25519"

    /// One certificate's own SSL_CTX (SNI switches a session to it).
    final class Entry {
        let context: OpaquePointer
        let leaf: OpaquePointer
        let summary: TLSCertificateSummary
        /// The DER OCSP response to staple, if one was configured.
        let ocspResponse: [UInt8]
        init(context: OpaquePointer, leaf: OpaquePointer, summary: TLSCertificateSummary, ocspResponse: [UInt8]) {
            self.context = context
            self.leaf = leaf
            self.summary = summary
            self.ocspResponse = ocspResponse
        }
        deinit { SSL_CTX_free(context) }
    }

    let entries: [Entry]
    /// Server name → index in `entries` (-1: no certificate covers it), so the SNI callback does
    /// not parse the certificates' subjectAltName (X509_check_host) on every handshake: 1.4% of
    /// the edge's CPU per handshake in a `perf` profile. Bounded (emptied when full), so hostile
    /// clients sending random names cannot grow it; a reload builds a new context and a new cache.
    private let serverNameMatches = Mutex<[String: Int]>([:])
    static let serverNameCacheLimit = 256
    /// Refuse a server name no certificate covers (else the default certificate answers it).
    public let rejectsUnknownServerNames: Bool
    /// Session-ticket keys: shared with the context this one replaced.
    let ticketKeys: TicketKeyRing
    /// The ALPN protocols offered, in the server's order of preference.
    public let alpnProtocols: [String]
    /// The wire form of the ALPN list (length-prefixed names).
    let alpnWire: [UInt8]
    public var certificates: [TLSCertificateSummary] { entries.map(\.summary) }
    /// The files the certificates were loaded from (to make a sibling context, e.g. with other ALPN).
    public let certificateFiles: [TLSCertificateFiles]

    /// Loads and checks every certificate. Throws `.certificate` naming the file and the reason
    /// (unreadable, not PEM, key mismatch, expired, not yet valid).
    /// - Parameter previous: the context this one replaces; its ticket key is kept, so tickets
    ///   issued before a reload still resume.
    ///   - ticketKeyRotationSeconds: how long a ticket key seals new tickets (it opens them for
    ///     twice that); ignored when `previous` is given (its keys carry on).
    ///   - rejectUnknownServerNames: answer a server name that no certificate covers with an
    ///     `unrecognized_name` alert and no handshake (a client sending no name still gets the default).
    public init(
        certificates: [TLSCertificateFiles], alpn: [String] = ["http/1.1"],
        previous: TLSServerContext? = nil, ticketKeyRotationSeconds: Int = 3600,
        rejectUnknownServerNames: Bool = false
    ) throws(TLSError) {
        self.rejectsUnknownServerNames = rejectUnknownServerNames
        self.alpnProtocols = alpn
        self.certificateFiles = certificates
        guard !certificates.isEmpty else { throw TLSError(.setup, "no certificate configured") }
        var wire: [UInt8] = []
        for name in alpn where !name.isEmpty && name.utf8.count < 256 {
            wire.append(UInt8(name.utf8.count))
            wire.append(contentsOf: name.utf8)
        }
        alpnWire = wire
        var loaded: [Entry] = []
        for files in certificates {
            loaded.append(try TLSServerContext.load(files))
        }
        entries = loaded
        ticketKeys = previous?.ticketKeys ?? TicketKeyRing(rotationSeconds: ticketKeyRotationSeconds)
        let unmanaged = Unmanaged.passUnretained(self).toOpaque()
        let ring = Unmanaged.passUnretained(ticketKeys).toOpaque()
        for entry in entries {
            wharf_SSL_CTX_set_tlsext_servername_callback(entry.context, serverNameCallback)
            wharf_SSL_CTX_set_tlsext_servername_arg(entry.context, unmanaged)
            SSL_CTX_set_alpn_select_cb(entry.context, alpnSelectCallback, unmanaged)
            // Tickets are sealed with the shared ring's keys and live as long as a key opens them.
            _ = wharf_SSL_CTX_set_app_data(entry.context, ring)
            SSL_CTX_set_tlsext_ticket_key_evp_cb(entry.context, ticketKeyCallback)
            SSL_CTX_set_timeout(entry.context, Int(2 * ticketKeys.rotationSeconds))
            if !entry.ocspResponse.isEmpty {
                // Per certificate: after an SNI switch OpenSSL asks the switched-to context.
                wharf_SSL_CTX_set_tlsext_status_cb(entry.context, ocspStatusCallback)
                wharf_SSL_CTX_set_tlsext_status_arg(entry.context, Unmanaged.passUnretained(entry).toOpaque())
            }
        }
    }

    /// The current session-ticket key's name (the 16 bytes every ticket carries in clear): equal
    /// across a reload, different between unrelated contexts.
    public var ticketKeyFingerprint: [UInt8] { ticketKeys.currentName }

    /// Starts a new ticket-key period now (tickets sealed before still resume, under the previous key).
    public func rotateTicketKey() { ticketKeys.rotateNow() }

    /// A server session for one accepted connection, starting with the default certificate.
    public func makeSession() -> TLSSession {
        TLSSession(serverContext: self)
    }

    /// Reads, parses and checks one certificate/key pair into its own SSL_CTX.
    static func load(_ files: TLSCertificateFiles) throws(TLSError) -> Entry {
        try readable(files.certificateChainPath, what: "certificate")
        try readable(files.privateKeyPath, what: "private key")
        let context = try makeContext()
        OpenSSLErrors.clear()
        if SSL_CTX_use_certificate_chain_file(context, files.certificateChainPath) != 1 {
            SSL_CTX_free(context)
            throw TLSError.drained(.certificate, "\(files.certificateChainPath): not a usable PEM certificate chain")
        }
        if SSL_CTX_use_PrivateKey_file(context, files.privateKeyPath, SSL_FILETYPE_PEM) != 1 {
            SSL_CTX_free(context)
            throw TLSError.drained(.certificate, "\(files.privateKeyPath): not a usable PEM private key for \(files.certificateChainPath)")
        }
        if SSL_CTX_check_private_key(context) != 1 {
            SSL_CTX_free(context)
            throw TLSError.drained(.certificate, "\(files.privateKeyPath): does not match the certificate in \(files.certificateChainPath)")
        }
        guard let leaf = SSL_CTX_get0_certificate(context) else {
            SSL_CTX_free(context)
            throw TLSError(.certificate, "\(files.certificateChainPath): holds no certificate")
        }
        let notAfter = CertificateInspection.time(X509_get0_notAfter(leaf))
        if X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0 {
            SSL_CTX_free(context)
            throw TLSError(.certificate, "\(files.certificateChainPath): certificate expired at \(notAfter)")
        }
        if X509_cmp_current_time(X509_get0_notBefore(leaf)) > 0 {
            SSL_CTX_free(context)
            throw TLSError(
                .certificate, "\(files.certificateChainPath): certificate not valid before \(CertificateInspection.time(X509_get0_notBefore(leaf)))")
        }
        var ocsp: [UInt8] = []
        if let path = files.ocspResponsePath {
            do {
                try readable(path, what: "OCSP response")
            } catch {
                SSL_CTX_free(context)
                throw error
            }
            let bytes = DevelopmentCertificates.readFile(path) ?? []
            let status = bytes.withUnsafeBufferPointer { wharf_ocsp_response_status($0.baseAddress, $0.count) }
            guard status == OCSP_RESPONSE_STATUS_SUCCESSFUL else {
                SSL_CTX_free(context)
                throw TLSError(.certificate, "\(path): not a successful DER OCSP response" + (status < 0 ? "" : " (status \(status))"))
            }
            ocsp = bytes
        }
        let summary = TLSCertificateSummary(files: files, names: CertificateInspection.subjectAltNames(leaf), notAfter: notAfter)
        return Entry(context: context, leaf: leaf, summary: summary, ocspResponse: ocsp)
    }

    static func readable(_ path: String, what: String) throws(TLSError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let reason = String(cString: strerror(errno))
            throw TLSError(.certificate, "\(path): cannot read the \(what) (\(reason))")
        }
        close(fd)
    }

    /// An SSL_CTX with the protocol policy and no certificate yet.
    static func makeContext() throws(TLSError) -> OpaquePointer {
        OpenSSLErrors.clear()
        guard let context = SSL_CTX_new(TLS_server_method()) else { throw TLSError.drained(.setup, "SSL_CTX_new failed") }
        SSL_CTX_set_options(context, wharf_server_options())
        guard wharf_SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION) == 1,
            wharf_SSL_CTX_set_max_proto_version(context, TLS1_3_VERSION) == 1,
            SSL_CTX_set_cipher_list(context, tls12Ciphers) == 1,
            wharf_SSL_CTX_set1_groups_list(context, groups) == 1,
            wharf_SSL_CTX_set1_sigalgs_list(context, signatureAlgorithms) == 1
        else {
            SSL_CTX_free(context)
            throw TLSError.drained(.setup, "the TLS policy was refused")
        }
        // Memory BIOs never block, and idle connections should not hold 2 × 16 KB of buffers.
        wharf_SSL_CTX_set_mode(context, Int(SSL_MODE_RELEASE_BUFFERS))
        // Stateless resumption only: tickets (TLS 1.2 and 1.3), no server-side session cache.
        wharf_SSL_CTX_set_session_cache_mode(context, Int(SSL_SESS_CACHE_OFF))
        SSL_CTX_set_num_tickets(context, 1)
        return context
    }

    /// `entry(forServerName:)`, remembered per name (see `serverNameMatches`).
    func cachedEntry(forServerName host: String) -> Entry? {
        if let index = serverNameMatches.withLock({ $0[host] }) {
            return index < 0 ? nil : entries[index]
        }
        let entry = entry(forServerName: host)
        let index = entry.flatMap { found in entries.firstIndex { $0 === found } } ?? -1
        serverNameMatches.withLock { cache in
            if cache.count >= TLSServerContext.serverNameCacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[host] = index
        }
        return entry
    }

    /// How many server names the SNI cache holds (tests: it stays bounded).
    var cachedServerNameCount: Int { serverNameMatches.withLock { $0.count } }

    /// The first entry whose certificate names match `host` (SNI), the default one included; nil
    /// when none does.
    func entry(forServerName host: String) -> Entry? {
        let isAddress = host.contains(":") || host.allSatisfy { $0.isNumber || $0 == "." }
        for entry in entries {
            let matched = host.withCString { name in
                isAddress
                    ? X509_check_ip_asc(entry.leaf, name, 0) == 1
                    : X509_check_host(entry.leaf, name, host.utf8.count, 0, nil) == 1
            }
            if matched { return entry }
        }
        return nil
    }
}

/// SNI: switch the session to the certificate for the requested name; unknown names keep the default.
private func serverNameCallback(_ ssl: OpaquePointer?, _ alert: UnsafeMutablePointer<Int32>?, _ arg: UnsafeMutableRawPointer?) -> Int32 {
    guard let ssl, let arg, let raw = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) else { return SSL_TLSEXT_ERR_NOACK }
    let context = Unmanaged<TLSServerContext>.fromOpaque(arg).takeUnretainedValue()
    let name = String(cString: raw)
    if let entry = context.cachedEntry(forServerName: name) {
        if entry !== context.entries[0] { SSL_set_SSL_CTX(ssl, entry.context) }
    } else if context.rejectsUnknownServerNames {
        alert?.pointee = SSL_AD_UNRECOGNIZED_NAME  // RFC 6066 §3
        return SSL_TLSEXT_ERR_ALERT_FATAL
    }
    return SSL_TLSEXT_ERR_OK
}

/// OCSP stapling: a copy of the certificate's response for a client that sent status_request.
private func ocspStatusCallback(_ ssl: OpaquePointer?, _ arg: UnsafeMutableRawPointer?) -> Int32 {
    guard let ssl, let arg else { return SSL_TLSEXT_ERR_NOACK }
    let entry = Unmanaged<TLSServerContext.Entry>.fromOpaque(arg).takeUnretainedValue()
    let stapled = entry.ocspResponse.withUnsafeBufferPointer { wharf_SSL_staple_copy(ssl, $0.baseAddress, $0.count) }
    return stapled == 1 ? SSL_TLSEXT_ERR_OK : SSL_TLSEXT_ERR_NOACK
}

/// ALPN: the first of our protocols the client offers; none in common → continue without ALPN.
private func alpnSelectCallback(
    _ ssl: OpaquePointer?, _ out: UnsafeMutablePointer<UnsafePointer<UInt8>?>?, _ outLength: UnsafeMutablePointer<UInt8>?,
    _ offered: UnsafePointer<UInt8>?, _ offeredLength: UInt32, _ arg: UnsafeMutableRawPointer?
) -> Int32 {
    guard let arg, let out, let outLength, let offered else { return SSL_TLSEXT_ERR_NOACK }
    let context = Unmanaged<TLSServerContext>.fromOpaque(arg).takeUnretainedValue()
    // The context lives as long as any session using it (sessions retain it), so this pointer
    // into its array stays valid for the handshake.
    return context.alpnWire.withUnsafeBufferPointer { ours -> Int32 in
        var selected: UnsafeMutablePointer<UInt8>?
        var selectedLength: UInt8 = 0
        let result = SSL_select_next_proto(&selected, &selectedLength, ours.baseAddress, UInt32(ours.count), offered, offeredLength)
        guard result == OPENSSL_NPN_NEGOTIATED, let selected else { return SSL_TLSEXT_ERR_NOACK }
        // `selected` points into `alpnWire`, whose storage never moves (an immutable stored array)
        // and outlives the handshake (the session retains this context).
        out.pointee = UnsafePointer(selected)
        outLength.pointee = selectedLength
        return SSL_TLSEXT_ERR_OK
    }
}
