import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 client for webhook POSTs over a blocking-with-deadline POSIX socket: resolve,
/// connect (non-blocking, polled), send the request with `Connection: close`, read the response head.
/// One request per connection; only the status code matters. Runs on the delivery thread, never on a
/// scheduler or loop thread.
enum WebhookClient {
    /// How a POST ended.
    enum Result: Sendable, Equatable {
        /// The receiver answered with this status.
        case answered(Int)
        /// No usable answer (resolve, connect, write, read or parse failed, or the deadline passed).
        case failed(String)
    }

    /// The largest response head read (the body is ignored).
    static let maxResponseHead = 16 * 1024

    static func post(_ url: WebhookURL, body: [UInt8], headers: [(String, String)], timeout: Double) -> Result {
        let deadline = Date().addingTimeInterval(timeout)
        var head = "POST \(url.target) HTTP/1.1\r\nHost: \(url.hostHeader)\r\nUser-Agent: wharf-alerts/1\r\n"
        head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        let request = Array(head.utf8) + body

        let fd: Int32
        switch connect(url, deadline: deadline) {
        case .success(let socket): fd = socket
        case .failure(let why): return .failed(why.message)
        }
        defer { close(fd) }
        if let problem = sendAll(fd, request, deadline: deadline) { return .failed(problem) }
        return readStatus(fd, deadline: deadline)
    }

    struct Failure: Error {
        var message: String
    }

    private static func connect(_ url: WebhookURL, deadline: Date) -> Swift.Result<Int32, Failure> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(url.host, String(url.port), &hints, &list)
        guard status == 0, let first = list else {
            return .failure(Failure(message: "cannot resolve \(url.host): \(String(cString: gai_strerror(status)))"))
        }
        defer { freeaddrinfo(first) }
        var lastError = "no address for \(url.host)"
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let info = entry {
            entry = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), info.pointee.ai_protocol)
            guard fd >= 0 else { lastError = "socket: \(errorText())"; continue }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            if Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return .success(fd) }
            if errno == EINPROGRESS, wait(fd, for: Int16(POLLOUT), deadline: deadline) {
                var soError: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length)
                if soError == 0 { return .success(fd) }
                lastError = "connect to \(url.hostHeader): \(String(cString: strerror(soError)))"
            } else {
                lastError = errno == EINPROGRESS ? "connect to \(url.hostHeader): timed out" : "connect to \(url.hostHeader): \(errorText())"
            }
            close(fd)
        }
        return .failure(Failure(message: lastError))
    }

    private static func sendAll(_ fd: Int32, _ bytes: [UInt8], deadline: Date) -> String? {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n > 0 { offset += n; continue }
            if n < 0, errno == EAGAIN || errno == EINTR {
                guard wait(fd, for: Int16(POLLOUT), deadline: deadline) else { return "write: timed out" }
                continue
            }
            return "write: \(errorText())"
        }
        return nil
    }

    private static func readStatus(_ fd: Int32, deadline: Date) -> Result {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while received.count < maxResponseHead {
            if let status = parseStatus(received) { return status }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 { received += buffer[0..<n]; continue }
            if n == 0 { return parseStatus(received, atEnd: true) ?? .failed("connection closed before a response") }
            if errno == EAGAIN || errno == EINTR {
                guard wait(fd, for: Int16(POLLIN), deadline: deadline) else { return .failed("read: timed out") }
                continue
            }
            return .failed("read: \(errorText())")
        }
        return .failed("response head over \(maxResponseHead) bytes")
    }

    /// The status of a response whose status line is complete (`HTTP/1.x NNN ...\r\n`), or a failure
    /// for a malformed one; nil while the line is incomplete (and not `atEnd`).
    static func parseStatus(_ bytes: [UInt8], atEnd: Bool = false) -> Result? {
        guard let lineEnd = bytes.firstIndex(of: UInt8(ascii: "\n")) else {
            return atEnd ? .failed("connection closed inside the status line") : nil
        }
        let line = String(decoding: bytes[..<lineEnd], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let parts = line.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0] == "HTTP/1.1" || parts[0] == "HTTP/1.0", parts[1].count == 3,
              let code = Int(parts[1]), (100...599).contains(code) else {
            return .failed("malformed status line")
        }
        if (100...199).contains(code) {
            // An interim response (100 Continue): skip its head and wait for the final one.
            guard let end = headEnd(bytes) else { return atEnd ? .failed("connection closed inside a 1xx response") : nil }
            return parseStatus(Array(bytes[end...]), atEnd: atEnd)
        }
        return .answered(code)
    }

    private static func headEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 0...(bytes.count - 4) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            return i + 4
        }
        return nil
    }

    /// Polls `fd` until `events` or the deadline; false on timeout or error.
    private static func wait(_ fd: Int32, for events: Int16, deadline: Date) -> Bool {
        while true {
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { return false }
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let n = poll(&entry, 1, Int32(min(remaining * 1000, 60_000).rounded(.up)))
            if n > 0 { return true }
            if n < 0, errno != EINTR { return false }
        }
    }

    private static func errorText() -> String { String(cString: strerror(errno)) }
}
