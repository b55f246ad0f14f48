import Foundation
import Glibc
import Synchronization

/// A tiny HTTP/1.1 server on 127.0.0.1 (an ephemeral port) that records every POST it is sent and
/// answers the first `failFirst` of them with 503, then 200: the receiving end of the alert webhook.
/// One connection at a time, `Connection: close`; every wait is bounded.
final class WebhookReceiver: Sendable {
    struct Delivery: Sendable {
        var headers: [String: String]
        var body: String
        /// The status this receiver answered.
        var answered: Int
    }

    let port: Int
    private let listener: Int32
    private let state = Mutex<(deliveries: [Delivery], failuresLeft: Int, stopped: Bool)>(([], 0, false))
    private let exited = DispatchSemaphore(value: 0)

    init(failFirst: Int = 0) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw CommandFailed("socket: \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p in
                bind(listener, p, length) == 0 && listen(listener, 16) == 0 && getsockname(listener, p, &length) == 0
            }
        }
        guard bound else {
            close(listener)
            throw CommandFailed("bind/listen: \(errno)")
        }
        self.listener = listener
        port = Int(UInt16(bigEndian: address.sin_port))
        state.withLock { $0.failuresLeft = failFirst }
        Thread.detachNewThread { [self] in serve() }
    }

    var deliveries: [Delivery] { state.withLock { $0.deliveries } }

    /// Stops accepting (within 0.1 s plus one exchange) and closes the socket.
    func stop() {
        state.withLock { $0.stopped = true }
        _ = exited.wait(timeout: .now() + 10)
        close(listener)
    }

    private func serve() {
        defer { exited.signal() }
        while !state.withLock({ $0.stopped }) {
            var ready = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&ready, 1, 100) > 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            exchange(client)
            close(client)
        }
    }

    /// Reads one request (head, then Content-Length bytes; at most 1 MB, 5 s), records it, answers.
    private func exchange(_ client: Int32) {
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var data = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        var head: (end: Int, fields: [String: String])?
        while data.count < 1 << 20 {
            let n = chunk.withUnsafeMutableBytes { read(client, $0.baseAddress, $0.count) }
            guard n > 0 else { break }
            data += chunk[0..<n]
            if head == nil, let end = Self.headEnd(data) { head = (end, Self.fields(data[0..<end])) }
            if let head, data.count >= head.end + 4 + (Int(head.fields["content-length"] ?? "0") ?? 0) { break }
        }
        guard let head else { return }
        let status = state.withLock { s -> Int in
            let answer = s.failuresLeft > 0 ? 503 : 200
            s.failuresLeft = max(0, s.failuresLeft - 1)
            s.deliveries.append(Delivery(headers: head.fields, body: String(decoding: data[(head.end + 4)...], as: UTF8.self), answered: answer))
            return answer
        }
        let response = Array(
            "HTTP/1.1 \(status) \(status == 200 ? "OK" : "Service Unavailable")\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
        _ = response.withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
    }

    static func headEnd(_ data: [UInt8]) -> Int? {
        guard data.count >= 4 else { return nil }
        for i in 0...(data.count - 4) where data[i] == 13 && data[i + 1] == 10 && data[i + 2] == 13 && data[i + 3] == 10 { return i }
        return nil
    }

    /// Header fields by lower-cased name (the request line is skipped).
    static func fields(_ head: ArraySlice<UInt8>) -> [String: String] {
        var out: [String: String] = [:]
        for line in String(decoding: head, as: UTF8.self).components(separatedBy: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            out[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return out
    }
}
