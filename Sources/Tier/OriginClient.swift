import Foundation
import Glibc
import TLS

/// A blocking HTTP/1.1 client for the origin's replica routes, over TCP or TLS (the origin's
/// certificate verified before the token is sent): one connection per request
/// (`Connection: close`), a bearer token, and hard bounds on everything — connect and total
/// time, time between received bytes, head size, body size. It runs on the threads that ask
/// (the libuv thread pool for blob fetches, the sync thread for state and events), never on an
/// event loop.
///
/// Why not URLSession: it holds a whole body in memory before a size can be refused, cannot be
/// bounded per read, and cancelling its async calls can deadlock corelibs Foundation here.
public struct OriginClient: Sendable {
    public let origin: OriginURL
    let token: String
    /// For `https` origins: the trusted CAs (the peer's chain and name are verified).
    let tls: TLSClientContext?

    public init(origin: OriginURL, token: String, tls: TLSClientContext? = nil) {
        self.origin = origin
        self.token = token
        self.tls = tls
    }

    /// GETs `path` (under the origin's prefix). The head is handed to `onHead`, which may throw
    /// to refuse it (a status not expected); the decoded body goes to `onBody` in pieces, at
    /// most `maxBodyBytes` in all. Fails with `OriginError` when `deadline` passes or nothing
    /// arrives for `idle`.
    public func get(
        _ path: String, deadline: ContinuousClock.Instant, idle: Duration, maxBodyBytes: Int64,
        onHead: (OriginResponseHead) throws -> Void,
        onBody: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        let fd = try connect(deadline: deadline)
        defer { Glibc.close(fd) }
        var session: TLSSession?
        if origin.isSecure {
            guard let tls else { throw OriginError.unreachable("an https origin needs trusted CA certificates") }
            session = tls.makeSession(serverName: origin.host)
        }
        let connection = OriginConnection(fd: fd, session: session)
        try connection.handshake(deadline: deadline)
        let host = origin.host.contains(":") ? "[\(origin.host)]" : origin.host
        let request =
            "GET \(origin.prefix)\(path) HTTP/1.1\r\nHost: \(host):\(origin.port)\r\nAuthorization: Bearer \(token)\r\n"
            + "Accept-Encoding: identity\r\nConnection: close\r\nUser-Agent: wharf-edge\r\n\r\n"
        try connection.send(Array(request.utf8), deadline: deadline)

        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        var head: [UInt8] = []
        var parsed: OriginResponseHead?
        var chunked = ChunkedDecoder()
        var received: Int64 = 0
        func deliver(_ piece: UnsafeRawBufferPointer) throws {
            received += Int64(piece.count)
            guard received <= maxBodyBytes else { throw OriginError.tooLarge("body over \(maxBodyBytes) bytes") }
            if piece.count > 0 { try onBody(piece) }
        }
        while true {
            let n = try connection.receive(&buffer, deadline: deadline, idle: idle)
            if n == 0 {
                // The origin closed: complete only for a close-delimited body.
                guard let parsed else { throw OriginError.unreachable("connection closed before a response head") }
                if parsed.chunked { throw OriginError.unreachable("connection closed inside a chunked body") }
                if let length = parsed.contentLength, received != length {
                    throw OriginError.unreachable("connection closed after \(received) of \(length) body bytes")
                }
                return
            }
            try buffer.withUnsafeBytes { raw in
                var piece = UnsafeRawBufferPointer(rebasing: raw[0..<n])
                if parsed == nil {
                    head.append(contentsOf: piece)
                    guard let end = Self.headEnd(head) else {
                        if head.count > OriginResponseHead.maxBytes {
                            throw OriginError.tooLarge("response head over \(OriginResponseHead.maxBytes) bytes")
                        }
                        return
                    }
                    let h = try OriginResponseHead.parse(head[0..<end])
                    parsed = h
                    if let length = h.contentLength, length > maxBodyBytes {
                        throw OriginError.tooLarge("Content-Length \(length) over \(maxBodyBytes)")
                    }
                    try onHead(h)
                    let bodyStart = end + 4 - (head.count - n)
                    piece = UnsafeRawBufferPointer(rebasing: raw[bodyStart..<n])
                }
                guard let h = parsed else { return }
                if h.chunked {
                    try chunked.feed(piece, deliver)
                } else if let length = h.contentLength {
                    let left = Int(min(Int64(piece.count), length - received))
                    try deliver(UnsafeRawBufferPointer(rebasing: piece[0..<left]))
                } else {
                    try deliver(piece)
                }
            }
            if let h = parsed {
                if h.chunked && chunked.isDone { return }
                if let length = h.contentLength, received == length { return }
            }
        }
    }

    /// GETs a whole body into memory (JSON documents), expecting 200.
    func getBytes(_ path: String, timeout: Duration, maxBodyBytes: Int64) throws -> [UInt8] {
        var body: [UInt8] = []
        try get(
            path, deadline: .now + timeout, idle: timeout, maxBodyBytes: maxBodyBytes,
            onHead: { head in if head.status != 200 { throw OriginError.status(head.status) } },
            onBody: { body.append(contentsOf: $0) })
        return body
    }

    /// Where the head ends: the index of "\r\n\r\n".
    static func headEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 0...(bytes.count - 4) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            return i
        }
        return nil
    }

    // MARK: - Sockets with deadlines

    private func connect(deadline: ContinuousClock.Instant) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(origin.host, String(origin.port), &hints, &list)
        guard rc == 0, let first = list else { throw OriginError.unreachable("cannot resolve \(origin.host): \(String(cString: gai_strerror(rc)))") }
        defer { freeaddrinfo(list) }
        var failure = "no address"
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let info = entry {
            entry = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else {
                failure = String(cString: strerror(errno))
                continue
            }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            if Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return fd }
            guard errno == EINPROGRESS else {
                failure = String(cString: strerror(errno))
                Glibc.close(fd)
                continue
            }
            do {
                try Self.wait(fd, events: Int16(POLLOUT), until: deadline, what: "connect")
            } catch {
                Glibc.close(fd)
                throw error
            }
            var code: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length)
            if code == 0 { return fd }
            failure = String(cString: strerror(code))
            Glibc.close(fd)
        }
        throw OriginError.unreachable("\(origin): \(failure)")
    }

    static func send(_ fd: Int32, _ bytes: [UInt8], deadline: ContinuousClock.Instant) throws {
        var done = 0
        while done < bytes.count {
            let n = bytes[done...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 {
                done += n
                continue
            }
            if n < 0 && (errno == EAGAIN || errno == EINTR) {
                try wait(fd, events: Int16(POLLOUT), until: deadline, what: "sending")
                continue
            }
            throw OriginError.unreachable("send: \(String(cString: strerror(errno)))")
        }
    }

    static func receive(_ fd: Int32, _ buffer: inout [UInt8], deadline: ContinuousClock.Instant, idle: Duration) throws -> Int {
        let until = min(deadline, .now + idle)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n >= 0 { return n }
            guard errno == EAGAIN || errno == EINTR else { throw OriginError.unreachable("recv: \(String(cString: strerror(errno)))") }
            try wait(fd, events: Int16(POLLIN), until: until, what: "the response")
        }
    }

    static func wait(_ fd: Int32, events: Int16, until: ContinuousClock.Instant, what: String) throws {
        while true {
            let left = ContinuousClock.now.duration(to: until)
            guard left > .zero else { throw OriginError.timedOut(what) }
            let ms = Int32(min(Int64(left.components.seconds) * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1, 60_000))
            var p = pollfd(fd: fd, events: events, revents: 0)
            let rc = poll(&p, 1, ms)
            if rc > 0 { return }
            if rc < 0 && errno != EINTR { throw OriginError.unreachable("poll: \(String(cString: strerror(errno)))") }
        }
    }
}

/// One connection to the origin: plain bytes, or TLS records through a memory-BIO session
/// (`TLS.TLSSession`) driven here with blocking, deadline-bounded socket calls.
final class OriginConnection {
    private let fd: Int32
    private let session: TLSSession?
    private var plaintext: [UInt8] = []
    private var ended = false

    init(fd: Int32, session: TLSSession?) {
        self.fd = fd
        self.session = session
    }

    /// Runs the TLS handshake (nothing for plain HTTP).
    func handshake(deadline: ContinuousClock.Instant) throws {
        guard let session else { return }
        var ciphertext = [UInt8](repeating: 0, count: 16 << 10)
        var state = session.receive(nil) { self.plaintext.append(contentsOf: $0) }
        while true {
            try flush(deadline: deadline)
            switch state {
            case .established: return
            case .failed(let error): throw OriginError.unreachable("TLS handshake with the origin failed: \(error)")
            case .closedByPeer: throw OriginError.unreachable("the origin closed the TLS handshake")
            case .handshaking: break
            }
            let n = try OriginClient.receive(fd, &ciphertext, deadline: deadline, idle: ContinuousClock.now.duration(to: deadline))
            guard n > 0 else { throw OriginError.unreachable("the origin closed the connection during the TLS handshake") }
            state = ciphertext.withUnsafeBytes { raw in
                session.receive(UnsafeRawBufferPointer(rebasing: raw[0..<n])) { self.plaintext.append(contentsOf: $0) }
            }
        }
    }

    func send(_ bytes: [UInt8], deadline: ContinuousClock.Instant) throws {
        guard let session else { return try OriginClient.send(fd, bytes, deadline: deadline) }
        var failure: (any Error)?
        bytes.withUnsafeBytes { raw in
            do { try session.encrypt(raw) } catch { failure = error }
        }
        if let failure { throw OriginError.unreachable("TLS: \(failure)") }
        try flush(deadline: deadline)
    }

    /// Plaintext bytes into `buffer`; 0 at the end of the stream.
    func receive(_ buffer: inout [UInt8], deadline: ContinuousClock.Instant, idle: Duration) throws -> Int {
        guard let session else { return try OriginClient.receive(fd, &buffer, deadline: deadline, idle: idle) }
        var ciphertext = [UInt8](repeating: 0, count: 16 << 10)
        while plaintext.isEmpty {
            if ended { return 0 }
            let n = try OriginClient.receive(fd, &ciphertext, deadline: deadline, idle: idle)
            if n == 0 { return 0 }  // closed without close_notify: the body framing decides if that is complete
            let state = ciphertext.withUnsafeBytes { raw in
                session.receive(UnsafeRawBufferPointer(rebasing: raw[0..<n])) { self.plaintext.append(contentsOf: $0) }
            }
            try flush(deadline: deadline)
            switch state {
            case .closedByPeer: ended = true
            case .failed(let error): throw OriginError.unreachable("TLS: \(error)")
            default: break
            }
        }
        let count = min(buffer.count, plaintext.count)
        buffer.replaceSubrange(0..<count, with: plaintext[0..<count])
        plaintext.removeFirst(count)
        return count
    }

    private func flush(deadline: ContinuousClock.Instant) throws {
        guard let session, session.hasOutput else { return }
        try OriginClient.send(fd, session.takeOutput(), deadline: deadline)
    }
}
