import HTTPCore
import Synchronization

/// The per-client limits of one edge process, shared by all its loops (lock-free tables, see
/// `RateTable`): request rate per address (per app and path prefix rule), open connections per
/// address, and the admin API's own request rate; with their counters for `/_wharf/metrics`.
public final class ClientLimits: Sendable {
    public let configuration: ClientLimitsConfiguration
    let requests: RateTable
    let adminRequests: RateTable
    let connections: ConnectionTable
    /// Rules most specific first: an app's own before `*`'s, then the longest prefix.
    private let rules: [(index: Int, rule: ClientLimitsConfiguration.Rule)]
    private let seed: UInt64

    public let limitedRequests = Atomic<Int>(0)
    public let limitedAdminRequests = Atomic<Int>(0)
    public let refusedConnections = Atomic<Int>(0)

    public init(_ configuration: ClientLimitsConfiguration) {
        self.configuration = configuration
        requests = RateTable(capacity: configuration.enabled ? configuration.tableEntries : 2)
        adminRequests = RateTable(capacity: configuration.adminRate > 0 ? 4096 : 2)
        connections = ConnectionTable(capacity: configuration.maxConnectionsPerAddress > 0 ? configuration.tableEntries : 4)
        rules = configuration.rules.enumerated().map { ($0.offset + 1, $0.element) }.sorted { a, b in
            let aStar = a.rule.app == "*"
            let bStar = b.rule.app == "*"
            if aStar != bStar { return !aStar }
            return a.rule.pathPrefix.count > b.rule.pathPrefix.count
        }
        seed = UInt64.random(in: .min ... .max)
    }

    /// Whether requests are rate limited at all (one branch per request when off).
    var limitsRequests: Bool { configuration.enabled }
    /// Whether a request's app and path are needed to pick its bucket.
    var hasRules: Bool { !rules.isEmpty }

    func isExempt(_ address: ClientAddress) -> Bool {
        !configuration.exempt.isEmpty && configuration.exempt.containsAddress(address)
    }

    // MARK: connections

    /// Counts a new connection from `address`; nil when it is over the per-address cap.
    func admitConnection(from address: ClientAddress) -> ClientTicket? {
        let cap = configuration.maxConnectionsPerAddress
        guard cap > 0, !isExempt(address) else { return ClientTicket(address: address, slot: -1) }
        switch connections.acquire(key: address.hash(seed: seed, salt: 0), cap: cap) {
        case .counted(let slot): return ClientTicket(address: address, slot: slot)
        case .untracked: return ClientTicket(address: address, slot: -1)
        case .refused:
            refusedConnections.add(1, ordering: .relaxed)
            return nil
        }
    }

    /// Ends a connection admitted by `admitConnection`.
    func release(_ ticket: ClientTicket) {
        if ticket.slot >= 0 { connections.release(slot: ticket.slot) }
    }

    /// Open connections counted for `address` (tests, status).
    public func openConnections(from address: ClientAddress) -> Int {
        connections.count(key: address.hash(seed: seed, salt: 0))
    }

    // MARK: requests

    /// The client a request counts against: the peer, or with a trusted proxy as the peer, the
    /// address it forwards for.
    func client(of head: RequestHead, peer: ClientAddress) -> ClientAddress {
        guard !configuration.trustedProxies.isEmpty, configuration.trustedProxies.containsAddress(peer) else { return peer }
        return ForwardedClient.client(of: head, trusted: configuration.trustedProxies) ?? peer
    }

    /// A refusal of one request, with what its 429 says.
    struct Refusal {
        var decision: RateTable.Decision
        var policy: String
        var quota: Int
        var windowSeconds: Int
    }

    /// Takes a token for a request of `client` to `app`'s `path`; a refusal when over the limit.
    func check(client: ClientAddress, app: String?, path: String?) -> Refusal? {
        if isExempt(client) { return nil }
        var index = 0
        var rate = configuration.rate
        var burst = configuration.burst
        if let path {
            for (i, rule) in rules where (rule.app == "*" || rule.app == app) && path.hasPrefix(rule.pathPrefix) {
                index = i
                rate = rule.rate
                burst = rule.burst
                break
            }
        }
        let decision = requests.take(key: client.hash(seed: seed, salt: UInt64(index) &+ 1), rate: rate, burst: burst)
        if decision.allowed { return nil }
        limitedRequests.add(1, ordering: .relaxed)
        return Refusal(
            decision: decision, policy: index == 0 ? "default" : "rule\(index)", quota: burst,
            windowSeconds: max(1, Int((Double(burst) / rate).rounded(.up))))
    }

    /// The admin API's own bucket per address (nil: allowed, or admin limiting off).
    func checkAdmin(client: ClientAddress) -> Refusal? {
        guard configuration.adminRate > 0, !isExempt(client) else { return nil }
        let decision = adminRequests.take(
            key: client.hash(seed: seed, salt: 0xAD), rate: configuration.adminRate,
            burst: configuration.adminBurst)
        if decision.allowed { return nil }
        limitedAdminRequests.add(1, ordering: .relaxed)
        return Refusal(
            decision: decision, policy: "admin", quota: configuration.adminBurst,
            windowSeconds: max(1, Int((Double(configuration.adminBurst) / configuration.adminRate).rounded(.up))))
    }

    /// `Retry-After`, `RateLimit-Policy` and `RateLimit` field lines of a 429
    /// (draft-ietf-httpapi-ratelimit-headers: quota `q` per window `w`, remaining `r`, reset `t`).
    static func fields(_ refusal: Refusal) -> String {
        let retry = max(1, refusal.decision.retryAfterSeconds)
        return "Retry-After: \(retry)\r\n"
            + "RateLimit-Policy: \"\(refusal.policy)\";q=\(refusal.quota);w=\(refusal.windowSeconds)\r\n"
            + "RateLimit: \"\(refusal.policy)\";r=0;t=\(retry)\r\n"
    }

    /// Prometheus families.
    func metrics(_ text: inout PrometheusText) {
        text.counter(
            "wharf_rate_limited_total", help: "Requests refused with 429 by the per-client rate limits.",
            label: "scope",
            [
                ("edge", limitedRequests.load(ordering: .relaxed)),
                ("admin", limitedAdminRequests.load(ordering: .relaxed)),
            ])
        text.counter(
            "wharf_connections_refused_per_address_total",
            help: "Connections refused over edge.limits.max_connections_per_address.",
            refusedConnections.load(ordering: .relaxed))
        text.counter(
            "wharf_rate_limit_evictions_total",
            help: "Buckets pushed out of the fixed-size rate table before they were full again.",
            requests.evictions.load(ordering: .relaxed) + adminRequests.evictions.load(ordering: .relaxed))
        text.counter(
            "wharf_connections_untracked_total",
            help: "Connections admitted without a per-address count (its slots held other addresses).",
            connections.untracked.load(ordering: .relaxed))
        text.gauge(
            "wharf_rate_limit_table_entries", help: "Buckets the per-client rate table holds at most.",
            Double(requests.capacity))
    }
}

/// A connection's client address and where its count lives (slot -1: not counted).
struct ClientTicket {
    let address: ClientAddress
    let slot: Int
}
