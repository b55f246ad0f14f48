internal import COpenSSL

#if canImport(Glibc)
    import Glibc
#endif

/// Makes X.509 certificates with OpenSSL's own API (no hand-built ASN.1): a local CA and server
/// certificates it signs, ECDSA P-256 keys, SHA-256 signatures. For development certificates and
/// for tests that need real chains (several names, expired, mismatched).
public final class CertificateIssuer {
    /// A certificate and its key, as PEM text.
    public struct Issued: Sendable {
        public var certificatePEM: [UInt8]
        public var privateKeyPEM: [UInt8]
    }

    private let key: OpaquePointer
    private let certificate: OpaquePointer
    /// The CA certificate and key as PEM.
    public let authority: Issued

    /// A new self-signed CA valid for `days`.
    public init(commonName: String, days: Int = 3650) throws(TLSError) {
        key = try CertificateIssuer.newKey()
        let cert = try CertificateIssuer.build(
            subject: commonName, key: key, issuer: nil, issuerKey: key,
            notBeforeOffset: -3600, notAfterOffset: days * 86400,
            extensions: [
                (NID_basic_constraints, "critical,CA:TRUE,pathlen:0"),
                (NID_key_usage, "critical,keyCertSign,cRLSign"),
                (NID_subject_key_identifier, "hash"),
            ])
        certificate = cert
        authority = Issued(
            certificatePEM: try CertificateIssuer.pem(certificate: cert),
            privateKeyPEM: try CertificateIssuer.pem(key: key))
    }

    /// Loads an existing CA from its PEM certificate and key.
    public init(certificatePEM: [UInt8], privateKeyPEM: [UInt8]) throws(TLSError) {
        OpenSSLErrors.clear()
        guard let cert = CertificateIssuer.read(certificatePEM, { PEM_read_bio_X509($0, nil, nil, nil) }),
            let key = CertificateIssuer.read(privateKeyPEM, { PEM_read_bio_PrivateKey($0, nil, nil, nil) })
        else { throw TLSError.drained(.certificate, "not a PEM CA certificate and key") }
        certificate = cert
        self.key = key
        authority = Issued(certificatePEM: certificatePEM, privateKeyPEM: privateKeyPEM)
    }

    deinit {
        X509_free(certificate)
        EVP_PKEY_free(key)
    }

    /// A server certificate for `names` (DNS names and IP addresses) signed by this CA.
    /// `notBeforeOffset`/`notAfterOffset` are seconds from now (negative both: already expired).
    public func issueServerCertificate(names: [String], notBeforeOffset: Int = -3600, notAfterOffset: Int = 365 * 86400) throws(TLSError) -> Issued {
        let leafKey = try CertificateIssuer.newKey()
        defer { EVP_PKEY_free(leafKey) }
        let san = names.map { name in
            name.contains(":") || name.allSatisfy({ $0.isNumber || $0 == "." }) ? "IP:\(name)" : "DNS:\(name)"
        }.joined(separator: ",")
        let cert = try CertificateIssuer.build(
            subject: names.first ?? "localhost", key: leafKey, issuer: certificate, issuerKey: key,
            notBeforeOffset: notBeforeOffset, notAfterOffset: notAfterOffset,
            extensions: [
                (NID_basic_constraints, "critical,CA:FALSE"),
                (NID_key_usage, "critical,digitalSignature"),
                (NID_ext_key_usage, "serverAuth"),
                (NID_subject_alt_name, san),
                (NID_subject_key_identifier, "hash"),
                (NID_authority_key_identifier, "keyid:always"),
            ])
        defer { X509_free(cert) }
        return Issued(certificatePEM: try CertificateIssuer.pem(certificate: cert), privateKeyPEM: try CertificateIssuer.pem(key: leafKey))
    }

    private static func newKey() throws(TLSError) -> OpaquePointer {
        OpenSSLErrors.clear()
        guard let key = wharf_EVP_EC_gen("P-256") else { throw TLSError.drained(.setup, "key generation failed") }
        return key
    }

    private static func build(
        subject: String, key: OpaquePointer, issuer: OpaquePointer?, issuerKey: OpaquePointer,
        notBeforeOffset: Int, notAfterOffset: Int, extensions: [(Int32, String)]
    ) throws(TLSError) -> OpaquePointer {
        OpenSSLErrors.clear()
        guard let cert = X509_new() else { throw TLSError.drained(.setup, "X509_new failed") }
        var serial: Int64 = 0
        _ = withUnsafeMutableBytes(of: &serial) { RAND_bytes($0.baseAddress!.assumingMemoryBound(to: UInt8.self), 8) }
        serial = serial & Int64.max | 1
        var ok =
            X509_set_version(cert, 2) == 1
            && ASN1_INTEGER_set_int64(X509_get_serialNumber(cert), serial) == 1
            && X509_gmtime_adj(X509_getm_notBefore(cert), notBeforeOffset) != nil
            && X509_gmtime_adj(X509_getm_notAfter(cert), notAfterOffset) != nil
            && X509_set_pubkey(cert, key) == 1
        let name = X509_NAME_new()
        defer { X509_NAME_free(name) }
        ok =
            ok && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, subject, -1, -1, 0) == 1
            && X509_set_subject_name(cert, name) == 1
            && X509_set_issuer_name(cert, issuer.map { X509_get_subject_name($0) } ?? name) == 1
        var context = X509V3_CTX()
        X509V3_set_ctx(&context, issuer ?? cert, cert, nil, nil, 0)
        for (nid, value) in extensions where ok {
            guard let ext = X509V3_EXT_conf_nid(nil, &context, nid, value) else {
                ok = false
                break
            }
            ok = X509_add_ext(cert, ext, -1) == 1
            X509_EXTENSION_free(ext)
        }
        ok = ok && X509_sign(cert, issuerKey, EVP_sha256()) > 0
        if !ok {
            X509_free(cert)
            throw TLSError.drained(.setup, "building the certificate for \(subject) failed")
        }
        return cert
    }

    private static func pem(certificate: OpaquePointer) throws(TLSError) -> [UInt8] {
        try write { PEM_write_bio_X509($0, certificate) }
    }

    private static func pem(key: OpaquePointer) throws(TLSError) -> [UInt8] {
        try write { PEM_write_bio_PrivateKey($0, key, nil, nil, 0, nil, nil) }
    }

    private static func write(_ body: (OpaquePointer) -> Int32) throws(TLSError) -> [UInt8] {
        let bio = BIO_new(BIO_s_mem())!
        defer { BIO_free(bio) }
        guard body(bio) == 1 else { throw TLSError.drained(.setup, "PEM encoding failed") }
        let count = Int(BIO_ctrl_pending(bio))
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = max(0, Int(BIO_read(bio, buffer.baseAddress, Int32(count))))
        }
    }

    private static func read(_ pem: [UInt8], _ body: (OpaquePointer) -> OpaquePointer?) -> OpaquePointer? {
        pem.withUnsafeBytes { bytes in
            guard let bio = BIO_new_mem_buf(bytes.baseAddress, Int32(bytes.count)) else { return nil }
            defer { BIO_free(bio) }
            return body(bio)
        }
    }
}
