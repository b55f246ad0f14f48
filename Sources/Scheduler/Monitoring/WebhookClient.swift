import Foundation
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Webhook POSTs through the toolchain's URLSession (libcurl underneath on Linux): one request per
/// delivery, a deadline for the whole exchange, no redirects followed (a receiver cannot bounce an
/// alert to another address), no cookies, no cache; only the status code matters. Called from the
/// delivery thread, which waits for the answer; never from a scheduler or loop thread.
enum WebhookClient {
    /// How a POST ended.
    enum Result: Sendable, Equatable {
        /// The receiver answered with this status.
        case answered(Int)
        /// No usable answer (resolve, connect, write, read or parse failed, or the deadline passed).
        case failed(String)
    }

    /// Refuses every redirect: the 3xx itself is the answer.
    private final class NoRedirects: NSObject, URLSessionTaskDelegate, Sendable {
        func urlSession(
            _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
            newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void
        ) {
            completionHandler(nil)
        }
    }

    private static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpShouldSetCookies = false
        configuration.urlCache = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.httpMaximumConnectionsPerHost = 1
        configuration.httpAdditionalHeaders = ["User-Agent": "wharf-alerts/1"]
        return URLSession(configuration: configuration, delegate: NoRedirects(), delegateQueue: nil)
    }()

    static func post(_ url: WebhookURL, body: [UInt8], headers: [(String, String)], timeout: Double) -> Result {
        guard let address = URL(string: url.description) else { return .failed("unusable URL \(url)") }
        return post(address, body: body, headers: headers, timeout: timeout)
    }

    /// Any http(s) address (deploy notifications go to Slack-style https receivers too).
    static func post(_ address: URL, body: [UInt8], headers: [(String, String)], timeout: Double) -> Result {
        var request = URLRequest(url: address, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        request.httpMethod = "POST"
        request.httpBody = Data(body)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let outcome = Mutex<Result?>(nil)
        let done = DispatchSemaphore(value: 0)
        let task = session.dataTask(with: request) { _, response, error in
            let result: Result
            if let response = response as? HTTPURLResponse {
                result = .answered(response.statusCode)
            } else {
                result = .failed(error.map(Self.reason) ?? "no HTTP response")
            }
            outcome.withLock { $0 = result }
            done.signal()
        }
        task.resume()
        // URLSession's own timeout covers idle periods; this bounds the whole exchange.
        if done.wait(timeout: .now() + timeout) == .timedOut {
            task.cancel()
            _ = done.wait(timeout: .now() + 5)
            return .failed("timed out: no answer within \(timeout) s")
        }
        return outcome.withLock { $0 } ?? .failed("no answer")
    }

    /// A short reason for the delivery record.
    static func reason(_ error: any Error) -> String {
        let error = error as NSError
        guard error.domain == NSURLErrorDomain else { return error.localizedDescription }
        switch error.code {
        case NSURLErrorCannotConnectToHost: return "connect: connection refused"
        case NSURLErrorTimedOut: return "timed out"
        case NSURLErrorCannotFindHost, NSURLErrorDNSLookupFailed: return "cannot resolve the host"
        case NSURLErrorNetworkConnectionLost: return "connection lost"
        case NSURLErrorBadServerResponse: return "malformed response"
        default: return "\(error.localizedDescription) (URL error \(error.code))"
        }
    }
}
