/// The admin API's hook into `ClientLimits`: its own per-address request rate (`edge.rate_limit.admin_rate`).
extension AdminConnection {
    /// A 429 when this connection's address is over the admin API's own rate; nil otherwise.
    func rateLimited() -> AdminResponse? {
        guard let limits = owner.limits.clientLimits, let client,
            let refusal = limits.checkAdmin(client: client)
        else { return nil }
        var response = AdminResponse.error(429, "too many admin requests")
        let retry = max(1, refusal.decision.retryAfterSeconds)
        response.headers = [
            .init(name: "Retry-After", value: "\(retry)"),
            .init(name: "RateLimit-Policy", value: "\"\(refusal.policy)\";q=\(refusal.quota);w=\(refusal.windowSeconds)"),
            .init(name: "RateLimit", value: "\"\(refusal.policy)\";r=0;t=\(retry)"),
        ]
        return response
    }
}
