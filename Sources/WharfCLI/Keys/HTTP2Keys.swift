/// The `edge.h2.*` keys: HTTP/2 on the TLS listener and as h2c, and the session's limits.
/// Defaults are `EdgeHTTP2Configuration`'s and `HTTP2Settings`' (a test checks).
enum HTTP2Keys {
    static let enabled = SettingKey<Bool>("edge.h2.enabled", true, .any, "offer h2 in ALPN on the TLS listener (before http/1.1)")
    static let cleartext = SettingKey<Bool>("edge.h2.cleartext", false, .any, "accept h2c with prior knowledge on the plain listener")
    static let maxConcurrentStreams = SettingKey<Int>(
        "edge.h2.max_concurrent_streams", 100, .within(1, 10_000),
        "SETTINGS_MAX_CONCURRENT_STREAMS; streams beyond it are refused")
    static let initialWindowBytes = SettingKey<Int>(
        "edge.h2.initial_window_bytes", 65535, .within(1024, Double(1 << 30)),
        "the server's receive window per stream")
    static let maxHeaderListBytes = SettingKey<Int>(
        "edge.h2.max_header_list_bytes", 65536, .within(1024, Double(16 << 20)),
        "SETTINGS_MAX_HEADER_LIST_SIZE; a larger decoded list (HPACK bomb) gets its stream refused")
    static let maxContinuations = SettingKey<Int>("edge.h2.max_continuations", 8, .within(0, 1000), "CONTINUATION frames allowed after one HEADERS")
    static let resetBurst = SettingKey<Int>("edge.h2.reset_burst", 200, .atLeast(1), "RST_STREAM token bucket burst (rapid reset, CVE-2023-44487)")
    static let resetRate = SettingKey<Int>("edge.h2.reset_rate", 50, .atLeast(1), "RST_STREAM token bucket refill per second")
    static let controlFrameBurst = SettingKey<Int>(
        "edge.h2.control_frame_burst", 500, .atLeast(1),
        "SETTINGS/PING/PRIORITY/PRIORITY_UPDATE/connection WINDOW_UPDATE bucket burst")
    static let controlFrameRate = SettingKey<Int>("edge.h2.control_frame_rate", 100, .atLeast(1), "that bucket's refill per second")
    static let headerOverflowBudget = SettingKey<Int>(
        "edge.h2.header_overflow_budget", 8, .atLeast(0),
        "requests per connection over max_header_list_bytes before the connection is closed")

    static let keys: [KeyDescriptor] = [
        enabled.descriptor, cleartext.descriptor, maxConcurrentStreams.descriptor, initialWindowBytes.descriptor,
        maxHeaderListBytes.descriptor, maxContinuations.descriptor, resetBurst.descriptor, resetRate.descriptor,
        controlFrameBurst.descriptor, controlFrameRate.descriptor, headerOverflowBudget.descriptor,
    ]
}
