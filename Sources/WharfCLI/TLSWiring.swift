import Edge
import TLS

/// Fills in the development certificates when TLS is on with none configured, and describes the
/// TLS settings for `check-config`.
enum TLSWiring {
    /// `tls` with its certificates: the configured ones, or the development CA and localhost
    /// certificate under `<store>/tls/` (created on first use, with a hint on trusting the CA).
    static func withCertificates(_ tls: EdgeTLSConfiguration?, store: String, log: (String) -> Void) throws -> EdgeTLSConfiguration? {
        guard var tls else { return nil }
        guard tls.certificates.isEmpty else { return tls }
        let (paths, created) = try DevelopmentCertificates.ensure(in: store + "/tls")
        if created {
            log("created a local development CA and a certificate for localhost, 127.0.0.1 and ::1 under \(paths.directory)/")
            log(
                "trust the CA: curl --cacert \(paths.caCertificate) …; Chromium/NSS: certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n wharf-dev -i \(paths.caCertificate)"
            )
        }
        tls.certificates = [paths.files]
        return tls
    }

    /// `check-config` lines for the TLS keys; each configured certificate with its names and expiry.
    static func describe(_ tls: EdgeTLSConfiguration?, store: String) -> [String] {
        guard let tls else { return ["edge.tls: off"] }
        var lines = [
            "edge.tls.listen: \(tls.listenHost):\(tls.listenPort)",
            "edge.tls.handshake_timeout_ms: \(tls.handshakeTimeoutMs), ticket_key_rotation_s: \(tls.ticketKeyRotationSeconds)",
            "edge.tls.strict_sni: \(tls.strictServerNames)",
            "edge.tls.redirect: \(tls.redirectApps.sorted())",
            "edge.tls.hsts: \(tls.hstsApps.sorted()), hsts_max_age: \(tls.hstsMaxAgeSeconds)",
        ]
        if tls.certificates.isEmpty {
            lines.append("edge.tls.certificates: none; development certificates under \(store)/tls/ (created at first start)")
        }
        for (index, files) in tls.certificates.enumerated() {
            if let loaded = try? TLSServerContext(certificates: [files]).certificates.first {
                lines.append(
                    "edge.tls.certificates[\(index)]: \(files.certificateChainPath) (\(loaded.names.isEmpty ? "no subjectAltName" : loaded.names.joined(separator: ", ")); until \(loaded.notAfter))\(index == 0 ? " default" : "")"
                )
            }
        }
        return lines
    }
}
