/// The `edge.tier.*` keys of a tier edge (`wharf edge --origin URL`). Defaults are `TierSettings`'.
enum TierKeys {
    static let origin = SettingKey<String>(
        "edge.tier.origin", "", .any,
        "a tier edge's origin: its admin listener, `https://HOST:PORT` (`http://` on loopback); --origin")
    static let diskBytes = SettingKey<Int>(
        "edge.tier.disk_bytes", 10 << 30, .atLeast(Double(1 << 20)), "bytes of fetched blob files kept; LRU evicted beyond")
    static let fetchTimeoutMs = SettingKey<Int>(
        "edge.tier.fetch_timeout_ms", 10000, .within(100, 600_000),
        "a blob fetch or state request must finish within this → 504")
    static let maxFetches = SettingKey<Int>("edge.tier.max_fetches", 8, .within(1, 256), "blob fetches from the origin at once")
    static let fullCheckMs = SettingKey<Int>(
        "edge.tier.full_check_ms", 30000, .within(1000, 86_400_000),
        "the origin's whole state is read this often even without a change event")
    static let tokenFile = SettingKey<String>(
        "edge.tier.token_file", "", .any,
        "file holding the origin's read token; empty = <store>/origin-token ($WHARF_ORIGIN_TOKEN wins)")
    static let caFile = SettingKey<String>("edge.tier.ca_file", "", .any, "PEM CA certificates trusted for an https origin; empty = the system's")

    static let keys: [KeyDescriptor] = [
        origin.descriptor, diskBytes.descriptor, fetchTimeoutMs.descriptor, maxFetches.descriptor, fullCheckMs.descriptor,
        tokenFile.descriptor, caFile.descriptor,
    ]
}
