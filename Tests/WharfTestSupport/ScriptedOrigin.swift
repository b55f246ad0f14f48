import Foundation
import Glibc
import Synchronization

/// A scripted peer for the edge tier's tests (a hostile origin, or a well-behaved one serving a
/// state the test built): a real TCP listener on
/// 127.0.0.1 (ephemeral port) answering each connection with whatever `respond` returns for the
/// request's path — raw bytes, so a test can send any framing — optionally after a delay.
/// Counts requests per path.
public final class ScriptedOrigin: Sendable {
    public struct Answer: Sendable {
        public var bytes: [UInt8]
        public var delay: Duration
        /// Keep the connection open (silent) for 5 s after writing, instead of closing it.
        public var hang: Bool
        public init(bytes: [UInt8], delay: Duration = .zero, hang: Bool = false) {
            self.bytes = bytes
            self.delay = delay
            self.hang = hang
        }
    }

    public let port: Int
    private let listener: Int32
    private let respond: @Sendable (String) -> Answer
    private let counts = Mutex<[String: Int]>([:])
    private let stopped = Atomic<Bool>(false)

    public init(_ respond: @escaping @Sendable (String) -> Answer) throws {
        self.respond = respond
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 512) == 0 else { throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        port = Int(UInt16(bigEndian: address.sin_port))
        listener = fd
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    public func count(_ path: String) -> Int { counts.withLock { $0[path] ?? 0 } }
    public var total: Int { counts.withLock { $0.values.reduce(0, +) } }

    public func stop() {
        stopped.store(true, ordering: .relaxed)
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func acceptLoop() {
        while !stopped.load(ordering: .relaxed) {
            let client = accept(listener, nil, nil)
            guard client >= 0 else {
                if stopped.load(ordering: .relaxed) { return }
                continue
            }
            let thread = Thread { [self] in serve(client) }
            thread.start()
        }
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !request.contains(13) || String(decoding: request, as: UTF8.self).range(of: "\r\n\r\n") == nil {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return }
            request += buffer[0..<n]
            if request.count > 65536 { return }
        }
        let line = String(decoding: request, as: UTF8.self).split(separator: "\r\n").first ?? ""
        let parts = line.split(separator: " ")
        let path = parts.count > 1 ? String(parts[1]) : ""
        counts.withLock { $0[path, default: 0] += 1 }
        let answer = respond(path)
        if answer.delay > .zero {
            Thread.sleep(forTimeInterval: Double(answer.delay.components.seconds) + Double(answer.delay.components.attoseconds) / 1e18)
        }
        var done = 0
        while done < answer.bytes.count {
            let n = answer.bytes[done...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return }
            done += n
        }
        if answer.hang { Thread.sleep(forTimeInterval: 5) }
    }

    /// A 200 with Content-Length.
    public static func ok(_ body: [UInt8], type: String = "application/octet-stream") -> [UInt8] {
        Array("HTTP/1.1 200 OK\r\nContent-Type: \(type)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n".utf8) + body
    }

    /// A 200 in chunked coding, `piece` bytes per chunk.
    public static func chunked(_ body: [UInt8], piece: Int = 1000) -> [UInt8] {
        var out = Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".utf8)
        var i = 0
        while i < body.count {
            let end = min(body.count, i + piece)
            out += Array((String(end - i, radix: 16) + "\r\n").utf8) + body[i..<end] + Array("\r\n".utf8)
            i = end
        }
        return out + Array("0\r\n\r\n".utf8)
    }
}
