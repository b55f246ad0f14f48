#if canImport(Glibc)
    import Glibc
#endif

/// The local development certificates `wharf serve` uses when TLS is on and no certificate is
/// configured (Caddy's idea): created once under `<store>/tls/` — a local CA (`ca.pem`,
/// `ca-key.pem`) and a server certificate for `localhost`, `127.0.0.1` and `::1` signed by it
/// (`localhost.pem`, `localhost-key.pem`); key files are 0600. Later runs reuse them, and a server
/// certificate that no longer loads (expired) is reissued from the same CA, so a browser that
/// trusts the CA keeps trusting the edge.
public enum DevelopmentCertificates {
    public struct Paths: Sendable, Equatable {
        public var directory: String
        public var caCertificate: String { directory + "/ca.pem" }
        public var caKey: String { directory + "/ca-key.pem" }
        public var certificate: String { directory + "/localhost.pem" }
        public var key: String { directory + "/localhost-key.pem" }
        public var files: TLSCertificateFiles { TLSCertificateFiles(certificateChainPath: certificate, privateKeyPath: key) }
    }

    /// Makes sure the CA and server certificate exist under `directory`; returns their paths and
    /// whether anything was created.
    public static func ensure(in directory: String) throws(TLSError) -> (paths: Paths, created: Bool) {
        let paths = Paths(directory: directory)
        mkdir(directory, 0o700)
        if (try? TLSServerContext.load(paths.files)) != nil, access(paths.caCertificate, R_OK) == 0 {
            return (paths, false)
        }
        let issuer: CertificateIssuer
        if let cert = readFile(paths.caCertificate), let key = readFile(paths.caKey),
            let existing = try? CertificateIssuer(certificatePEM: cert, privateKeyPEM: key)
        {
            issuer = existing
        } else {
            issuer = try CertificateIssuer(commonName: "Wharf local development CA")
            try writeFile(paths.caKey, issuer.authority.privateKeyPEM, mode: 0o600)
            try writeFile(paths.caCertificate, issuer.authority.certificatePEM, mode: 0o644)
        }
        let leaf = try issuer.issueServerCertificate(names: ["localhost", "127.0.0.1", "::1"])
        try writeFile(paths.key, leaf.privateKeyPEM, mode: 0o600)
        try writeFile(paths.certificate, leaf.certificatePEM, mode: 0o644)
        return (paths, true)
    }

    static func readFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }

    /// Writes through a temporary name and renames, created with `mode` from the start (a key is
    /// never readable by others, not even briefly).
    public static func writeFile(_ path: String, _ bytes: [UInt8], mode: mode_t) throws(TLSError) {
        let temporary = path + ".tmp"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw TLSError(.setup, "\(temporary): \(String(cString: strerror(errno)))") }
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n <= 0 {
                close(fd)
                throw TLSError(.setup, "\(temporary): \(String(cString: strerror(errno)))")
            }
            written += n
        }
        fchmod(fd, mode)
        close(fd)
        guard rename(temporary, path) == 0 else { throw TLSError(.setup, "\(path): \(String(cString: strerror(errno)))") }
    }
}
