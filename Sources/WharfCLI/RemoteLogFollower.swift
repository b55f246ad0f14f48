import Foundation
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `wharf logs ID --to URL`: reads a build's log from a Wharf's admin API
/// (`GET /_wharf/api/builds/{id}/log`, Server-Sent Events) and prints each line as it arrives,
/// through URLSession's data delegate (bytes are handed over as they come; nothing is buffered
/// beyond one partial line). The stream ends when the build does; the result is the build's final
/// state, or nil when the stream stopped before saying it. No task is ever cancelled from Swift
/// concurrency (corelibs Foundation can deadlock on that): the request's own timeouts bound it.
final class RemoteLogFollower: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    enum Failure: Error, CustomStringConvertible {
        case status(Int, String)
        case transport(String)
        var description: String {
            switch self {
            case .status(let code, let body): "the server answered \(code): \(body)"
            case .transport(let why): why
            }
        }
    }

    private let state = Mutex(State())
    private struct State {
        var partial: [UInt8] = []
        var status = 0
        var errorBody: [UInt8] = []
        var event = ""
        var finalState: String?
        var continuation: CheckedContinuation<Result<String?, Failure>, Never>?
    }
    private let write: @Sendable (String) -> Void

    init(write: @escaping @Sendable (String) -> Void) {
        self.write = write
    }

    /// Follows the log of job `id` at `base` (the admin listener's URL) with `token`.
    func follow(base: String, id: Int64, token: String, follow: Bool, timeout: Double) async -> Result<String?, Failure> {
        let trimmed = base.hasSuffix("/") ? String(base.dropLast()) : base
        guard let url = URL(string: "\(trimmed)/_wharf/api/builds/\(id)/log\(follow ? "" : "?follow=0")") else {
            return .failure(.transport("invalid URL \(base)"))
        }
        var request = URLRequest(url: url)
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        request.setValue("text/event-stream", forHTTPHeaderField: "Accept")
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 60  // the server comments every 15 s of silence
        configuration.timeoutIntervalForResource = max(1, timeout)
        let session = URLSession(configuration: configuration, delegate: self, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        return await withCheckedContinuation { continuation in
            state.withLock { $0.continuation = continuation }
            session.dataTask(with: request).resume()
        }
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        state.withLock { $0.status = (response as? HTTPURLResponse)?.statusCode ?? 0 }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        var lines: [String] = []
        state.withLock { s in
            if s.status != 200 {
                if s.errorBody.count < 4096 { s.errorBody += data.prefix(4096) }
                return
            }
            s.partial += data
            while let newline = s.partial.firstIndex(of: 0x0A) {
                let line = String(decoding: s.partial[..<newline], as: UTF8.self)
                s.partial.removeFirst(newline + 1)
                if line.hasPrefix("event: ") {
                    s.event = String(line.dropFirst(7))
                } else if line.hasPrefix("data: ") || line == "data:" {
                    let value = String(line.dropFirst(line == "data:" ? 5 : 6))
                    if s.event == "end" {
                        let parsed = (try? JSONSerialization.jsonObject(with: Data(value.utf8))) as? [String: Any]
                        s.finalState = parsed?["state"] as? String
                    } else {
                        lines.append(value)
                    }
                } else if line.isEmpty {
                    s.event = ""
                }
            }
        }
        if !lines.isEmpty { write(lines.joined(separator: "\n") + "\n") }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        let (continuation, result): (CheckedContinuation<Result<String?, Failure>, Never>?, Result<String?, Failure>) = state.withLock { s in
            let continuation = s.continuation
            s.continuation = nil
            if s.status != 200 && s.status != 0 {
                return (continuation, .failure(.status(s.status, String(decoding: s.errorBody, as: UTF8.self))))
            }
            if let error, s.finalState == nil { return (continuation, .failure(.transport("\(error.localizedDescription)"))) }
            return (continuation, .success(s.finalState))
        }
        continuation?.resume(returning: result)
    }
}
