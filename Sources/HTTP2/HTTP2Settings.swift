/// What an HTTP/2 server connection advertises and tolerates. The first four are sent in the
/// server's SETTINGS frame; the budgets are Wharf's own defences against clients that cost the
/// server work without asking for responses (rapid reset, CVE-2023-44487; SETTINGS/PING floods;
/// HPACK bombs; CONTINUATION floods, CVE-2024-28182). A client over any budget gets
/// GOAWAY ENHANCE_YOUR_CALM and the connection closes.
public struct HTTP2Settings: Sendable, Equatable {
    /// SETTINGS_MAX_CONCURRENT_STREAMS: streams a client may have open at once.
    public var maxConcurrentStreams = 100
    /// SETTINGS_INITIAL_WINDOW_SIZE: the server's receive window per stream (request bodies; the
    /// edge takes none, so this stays small).
    public var initialWindowBytes = 65_535
    /// SETTINGS_MAX_HEADER_LIST_SIZE: decoded header list bytes (names + values + 32 each, RFC 9113
    /// §6.5.2). A larger request is reset; the bytes still count toward `headerOverflowBudget`.
    public var maxHeaderListBytes = 64 * 1024
    /// CONTINUATION frames allowed after one HEADERS frame.
    public var maxContinuations = 8
    /// RST_STREAM frames from the client: a token bucket of `resetBurst` tokens refilled at
    /// `resetRatePerSecond`.
    public var resetBurst = 200
    public var resetRatePerSecond = 50
    /// SETTINGS, PING, PRIORITY, PRIORITY_UPDATE and connection-level WINDOW_UPDATE frames: frames
    /// the server must process (and often acknowledge) that carry no request.
    public var controlFrameBurst = 500
    public var controlFrameRatePerSecond = 100
    /// Requests whose header list went over `maxHeaderListBytes`, per connection.
    public var headerOverflowBudget = 8

    public init() {}

    /// Every problem, as (key suffix, reason); empty when valid.
    public func problems() -> [(key: String, reason: String)] {
        var found: [(String, String)] = []
        if !(1...10_000).contains(maxConcurrentStreams) { found.append(("max_concurrent_streams", "must be 1 to 10000")) }
        if !(1_024...(1 << 30)).contains(initialWindowBytes) { found.append(("initial_window_bytes", "must be 1024 to 1073741824")) }
        if !(1_024...(16 << 20)).contains(maxHeaderListBytes) { found.append(("max_header_list_bytes", "must be 1024 to 16777216")) }
        if !(0...1_000).contains(maxContinuations) { found.append(("max_continuations", "must be 0 to 1000")) }
        if resetBurst < 1 { found.append(("reset_burst", "must be at least 1")) }
        if resetRatePerSecond < 1 { found.append(("reset_rate", "must be at least 1 per second")) }
        if controlFrameBurst < 1 { found.append(("control_frame_burst", "must be at least 1")) }
        if controlFrameRatePerSecond < 1 { found.append(("control_frame_rate", "must be at least 1 per second")) }
        if headerOverflowBudget < 0 { found.append(("header_overflow_budget", "must not be negative")) }
        return found
    }
}

/// A token bucket on a caller-supplied millisecond clock: `take` spends one token and says
/// whether one was there.
struct FrameBudget {
    private let burst: Double
    private let perMillisecond: Double
    private var tokens: Double
    private var lastMs: UInt64

    init(burst: Int, ratePerSecond: Int, nowMs: UInt64) {
        self.burst = Double(burst)
        self.perMillisecond = Double(ratePerSecond) / 1000
        self.tokens = Double(burst)
        self.lastMs = nowMs
    }

    mutating func take(nowMs: UInt64) -> Bool {
        if nowMs > lastMs {
            tokens = min(burst, tokens + Double(nowMs - lastMs) * perMillisecond)
            lastMs = nowMs
        }
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
