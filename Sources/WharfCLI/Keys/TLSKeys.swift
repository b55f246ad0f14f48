/// The `edge.tls.*` keys: the HTTPS listener, its certificates and the per-app HTTPS policies.
/// Defaults are `EdgeTLSConfiguration`'s (a test checks).
enum TLSKeys {
    static let enabled = SettingKey<Bool>("edge.tls.enabled", false, .any, "HTTPS on; also on when edge.tls.listen or a certificate is given")
    static let listen = SettingKey<String>("edge.tls.listen", "127.0.0.1:8443", .any, "HTTPS listener HOST:PORT")
    static let certificates = SettingKey<[String]>(
        "edge.tls.certificates", [], .any,
        "`CHAIN.pem=KEY.pem[=OCSP.der]` entries, first = default; empty: development certificates")
    static let strictSNI = SettingKey<Bool>(
        "edge.tls.strict_sni", true, .any,
        "a server name no certificate covers gets unrecognized_name and a close; false: the default certificate")
    static let handshakeTimeoutMs = SettingKey<Int>(
        "edge.tls.handshake_timeout_ms", 10000, .atLeast(1), "unfinished handshakes are closed after this")
    static let ticketKeyRotationSeconds = SettingKey<Int>(
        "edge.tls.ticket_key_rotation_s", 3600, .atLeast(60),
        "a ticket key seals new tickets this long, opens them twice as long")
    static let redirect = SettingKey<[String]>("edge.tls.redirect", [], .any, "apps (or `*`) whose plain requests get 308 to HTTPS")
    static let hsts = SettingKey<[String]>("edge.tls.hsts", [], .any, "apps (or `*`) whose HTTPS responses carry Strict-Transport-Security")
    static let hstsMaxAge = SettingKey<Int>("edge.tls.hsts_max_age", 31_536_000, .atLeast(0), "its max-age in seconds")

    static let keys: [KeyDescriptor] = [
        enabled.descriptor, listen.descriptor, certificates.descriptor, strictSNI.descriptor, handshakeTimeoutMs.descriptor,
        ticketKeyRotationSeconds.descriptor, redirect.descriptor, hsts.descriptor, hstsMaxAge.descriptor,
    ]
}
