/// One certificate the server can present: a PEM chain (leaf first, then intermediates) and its
/// PEM private key, both read from files. Which host names it serves comes from the certificate
/// itself (its subjectAltName DNS and IP entries, wildcards included), as browsers check them.
public struct TLSCertificateFiles: Sendable, Equatable, Hashable {
    public var certificateChainPath: String
    public var privateKeyPath: String
    /// A DER OCSP response for the leaf, stapled to every handshake that asks (re-read on reload).
    public var ocspResponsePath: String?

    public init(certificateChainPath: String, privateKeyPath: String, ocspResponsePath: String? = nil) {
        self.certificateChainPath = certificateChainPath
        self.privateKeyPath = privateKeyPath
        self.ocspResponsePath = ocspResponsePath
    }
}

/// What a loaded certificate says about itself (for logs, `check-config` and the admin status).
public struct TLSCertificateSummary: Sendable, Equatable {
    public var files: TLSCertificateFiles
    /// subjectAltName DNS names and IP addresses, in certificate order.
    public var names: [String]
    /// notAfter as `YYYY-MM-DD HH:MM:SSZ`.
    public var notAfter: String
}
