import Deploy
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The upload API from the client's side, over URLSession: JSON calls and streamed blob PUTs
/// (`upload(for:fromFile:)`), each retried on transient failures (connection errors, 408, 429,
/// 5xx but 507) with exponential backoff. A refusal (other 4xx) is final and carries the
/// server's message.
struct DeployClient: Sendable {
    let base: URL
    let app: String
    let token: String
    let retries: Int
    let session: URLSession

    struct Failure: Error, CustomStringConvertible {
        var status: Int?
        var message: String
        /// A 409 for a session already finalized names its deployment.
        var deployment: String?
        var description: String { status.map { "HTTP \($0): \(message)" } ?? message }
    }

    init(base: URL, app: String, token: String, retries: Int) {
        self.base = base
        self.app = app
        self.token = token
        self.retries = retries
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 120
        configuration.httpMaximumConnectionsPerHost = 16
        session = URLSession(configuration: configuration)
    }

    func url(_ path: String) -> URL {
        base.appendingPathComponent("_wharf/api/apps/\(app)/deploys" + path)
    }

    private func request(_ url: URL, method: String) -> URLRequest {
        var r = URLRequest(url: url)
        r.httpMethod = method
        r.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        r.setValue("application/json", forHTTPHeaderField: "Accept")
        return r
    }

    /// POSTs `body` as JSON; the answer's JSON object. `timeout`: seconds for the whole answer
    /// (a finalize compresses every new file before it answers).
    func post(_ path: String, json body: some Encodable, timeout: Double = 120) async throws -> [String: Any] {
        var r = request(url(path), method: "POST")
        r.timeoutInterval = timeout
        r.setValue("application/json", forHTTPHeaderField: "Content-Type")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let data = try encoder.encode(body)
        return try await retrying(path) {
            var copy = r
            copy.httpBody = data
            return try await session.data(for: copy)
        }
    }

    /// PUTs one blob's bytes from `file`, with its RFC 9530 digest.
    func putBlob(session id: String, hash: String, file: String) async throws -> [String: Any] {
        var r = request(url("/\(id)/blobs/\(hash)"), method: "PUT")
        r.setValue("application/octet-stream", forHTTPHeaderField: "Content-Type")
        r.setValue(ContentDigest.header(sha256Hex: hash), forHTTPHeaderField: "Content-Digest")
        return try await retrying("blob \(hash)") {
            try await session.upload(for: r, fromFile: URL(fileURLWithPath: file))
        }
    }

    /// Connection trouble worth another try; certificate and URL errors are not.
    static func isTransient(_ error: any Error) -> Bool {
        guard let code = (error as? URLError)?.code else { return false }
        return [
            .timedOut, .cannotConnectToHost, .networkConnectionLost, .notConnectedToInternet, .cannotFindHost,
            .dnsLookupFailed, .badServerResponse,
        ].contains(code)
    }

    private func retrying(_ what: String, _ call: () async throws -> (Data, URLResponse)) async throws -> [String: Any] {
        var attempt = 0
        while true {
            attempt += 1
            var failure: Failure
            do {
                let (data, response) = try await call()
                let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
                if (200..<300).contains(status) { return object }
                failure = Failure(
                    status: status, message: object["error"] as? String ?? "no message",
                    deployment: (object["deployment"] as? [String])?.first)
                let transient = status == 408 || status == 429 || (status >= 500 && status != 507)
                if !transient || attempt > retries { throw failure }
            } catch let error as Failure {
                throw error
            } catch {
                failure = Failure(status: nil, message: "\(what): \(error.localizedDescription)")
                if attempt > retries || !DeployClient.isTransient(error) { throw failure }
            }
            let delay = min(8.0, 0.25 * pow(2.0, Double(attempt - 1)))
            FileHandle.standardError.write(Data("wharf: \(what): \(failure); retrying in \(delay) s (\(attempt)/\(retries))\n".utf8))
            try await Task.sleep(for: .milliseconds(Int(delay * 1000)))
        }
    }
}
