/// Per-client limits: request rate (token buckets per address, per app and path prefix), open
/// connections per address, and the admin API's own request rate. Keys under `edge.rate_limit.*`
/// and `edge.limits.max_connections_per_address`; README lists them with their defaults.
public struct ClientLimitsConfiguration: Sendable, Equatable {
    /// Request rate limiting on the public listeners (off by default).
    public var enabled = false
    /// The bucket every request falls in when no rule matches: requests per second and burst.
    public var rate = 20.0
    public var burst = 40
    /// Buckets of their own for an app and/or a path prefix (the longest matching prefix of the
    /// request's app wins, then `*`'s).
    public var rules: [Rule] = []
    /// Addresses or CIDR ranges never limited (requests nor connections).
    public var exempt: [AddressRange] = []
    /// Peers whose `Forwarded` / `X-Forwarded-For` name the client (load balancers, CDNs).
    public var trustedProxies: [AddressRange] = []
    /// Buckets kept (power of two; 8 bytes each, whatever the number of addresses).
    public var tableEntries = 65_536
    /// Open connections per client address across all loops; 0 = no cap.
    public var maxConnectionsPerAddress = 16_384
    /// The admin API's own request rate per address (0 = unlimited) and burst.
    public var adminRate = 0.0
    public var adminBurst = 100

    public init() {}

    /// A bucket for `app` (or `*`) and paths under `pathPrefix` ("" = every path).
    public struct Rule: Sendable, Equatable, CustomStringConvertible {
        public var app: String
        public var pathPrefix: String
        public var rate: Double
        public var burst: Int

        public init(app: String, pathPrefix: String, rate: Double, burst: Int) {
            self.app = app
            self.pathPrefix = pathPrefix
            self.rate = rate
            self.burst = burst
        }

        /// `APP[/PREFIX]=RATE/BURST`: `shop=50/100`, `shop/api/=5/10`, `*/downloads/=1/3`.
        public init?(_ text: String) {
            let sides = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard sides.count == 2 else { return nil }
            let scope = sides[0].trimmingBlanks()
            let numbers = sides[1].split(separator: "/", omittingEmptySubsequences: false)
            guard numbers.count == 2, let rate = Double(numbers[0].trimmingBlanks()), rate > 0, rate.isFinite,
                let burst = Int(numbers[1].trimmingBlanks()), burst >= 1
            else { return nil }
            let app: Substring
            let prefix: String
            if let slash = scope.firstIndex(of: "/") {
                app = scope[..<slash]
                prefix = String(scope[slash...])
            } else {
                app = Substring(scope)
                prefix = ""
            }
            guard !app.isEmpty, !app.contains(" ") else { return nil }
            self.init(app: String(app), pathPrefix: prefix, rate: rate, burst: burst)
        }

        public var description: String {
            "\(app)\(pathPrefix)=\(rate.plainText())/\(burst)"
        }
    }

    /// Every problem, as (key, reason) pairs, like `EdgeConfiguration.problems()`.
    public func problems() -> [(key: String, reason: String)] {
        var found: [(String, String)] = []
        if !(rate > 0 && rate.isFinite && rate <= 1_000_000) {
            found.append(("edge.rate_limit.rate", "must be above 0 and at most 1000000 requests per second"))
        }
        if burst < 1 || burst > 1_000_000 { found.append(("edge.rate_limit.burst", "must be 1 to 1000000")) }
        if tableEntries < 1024 || tableEntries > 1 << 24 { found.append(("edge.rate_limit.table_entries", "must be 1024 to 16777216")) }
        if maxConnectionsPerAddress < 0 { found.append(("edge.limits.max_connections_per_address", "must be 0 (no cap) or more")) }
        if !(adminRate >= 0 && adminRate.isFinite && adminRate <= 1_000_000) {
            found.append(("edge.rate_limit.admin_rate", "must be 0 (unlimited) to 1000000"))
        }
        if adminBurst < 1 || adminBurst > 1_000_000 { found.append(("edge.rate_limit.admin_burst", "must be 1 to 1000000")) }
        for rule in rules where rule.rate > 1_000_000 || rule.burst > 1_000_000 {
            found.append(("edge.rate_limit.rules", "\(rule): rate and burst must be at most 1000000"))
        }
        for rule in rules where !rule.pathPrefix.isEmpty && !rule.pathPrefix.hasPrefix("/") {
            found.append(("edge.rate_limit.rules", "\(rule): the path prefix must start with /"))
        }
        return found
    }
}

extension Double {
    /// `20` for 20.0, `0.5` for 0.5.
    func plainText() -> String {
        self == rounded() && abs(self) < 1e15 ? String(Int(self)) : String(self)
    }
}
