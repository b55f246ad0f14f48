import Foundation

/// Settings of the alert webhook (`monitor.webhook.*`).
public struct WebhookConfiguration: Sendable, Equatable {
    /// `monitor.webhook.url`: where alerts are POSTed (http:// only).
    public var url: WebhookURL
    /// `monitor.webhook.timeout_seconds`: connect + send + response head, per attempt (default 10).
    public var timeout: Double
    /// `monitor.webhook.initial_backoff_seconds`: wait after the first failure (default 2); doubles per failure.
    public var initialBackoff: Double
    /// `monitor.webhook.max_backoff_seconds`: the longest wait between attempts (default 600).
    public var maxBackoff: Double
    /// Deliveries tried per round before checking for newer ones (default 50).
    var batchSize: Int

    public init(url: WebhookURL, timeout: Double = 10, initialBackoff: Double = 2, maxBackoff: Double = 600) {
        self.init(url: url, timeout: timeout, initialBackoff: initialBackoff, maxBackoff: maxBackoff, batchSize: 50)
    }

    init(url: WebhookURL, timeout: Double, initialBackoff: Double, maxBackoff: Double, batchSize: Int) {
        self.url = url
        self.timeout = timeout
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.batchSize = batchSize
    }

    public func validate() throws(SchedulerError) {
        guard timeout.isFinite, timeout > 0, timeout <= 300 else {
            throw .invalidConfiguration("monitor.webhook.timeout_seconds must be in (0, 300]")
        }
        guard initialBackoff.isFinite, initialBackoff > 0, maxBackoff.isFinite, maxBackoff >= initialBackoff else {
            throw .invalidConfiguration("monitor.webhook backoff: need 0 < initial_backoff_seconds <= max_backoff_seconds")
        }
        guard (1...1000).contains(batchSize) else { throw .invalidConfiguration("monitor.webhook batch size must be 1...1000") }
    }

    /// Seconds to wait after the `failures`-th failed attempt: initial × 2^(failures−1), at most `maxBackoff`.
    func backoff(afterFailures failures: Int) -> Double {
        min(maxBackoff, initialBackoff * pow(2, Double(max(0, min(failures - 1, 60)))))
    }
}
