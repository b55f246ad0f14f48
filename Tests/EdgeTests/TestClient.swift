import Foundation
import Glibc
import TLS

/// A blocking HTTP/1.1 client over a plain POSIX socket, for talking to the real edge in tests.
/// It reads responses exactly as a browser would frame them (Content-Length; interim 1xx heads).
/// With a `TLSClientContext` it speaks HTTPS: the handshake (verifying the edge's certificate)
/// happens in `init`, then every byte goes through an OpenSSL client session.
final class TestClient: @unchecked Sendable {
    struct Response {
        var status: Int
        var headers: [(String, String)]
        var body: [UInt8]
        var interim: [Response] = []
        func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
        func headers(_ name: String) -> [String] {
            headers.filter { $0.0.lowercased() == name.lowercased() }.map(\.1)
        }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    enum ClientError: Error {
        case connect(Int32)
        case closed, timeout
        case malformed(String)
    }

    let fd: Int32
    private var pending: [UInt8] = []
    private var session: TLSSession?
    /// Set for an HTTP/2 client: `get` goes through it; the raw-socket methods do not apply.
    private var h2: HTTP2TestConnection?

    /// An HTTP/2 client over TLS (ALPN h2), or cleartext h2c: a real client (Python's h2
    /// package) on one connection; each `get` is a new stream on it.
    init(http2Port port: Int, caFile: String?, timeoutSeconds: Int = 10) throws {
        fd = -1
        h2 = try HTTP2TestConnection(port: port, caFile: caFile, timeoutSeconds: timeoutSeconds)
    }

    convenience init(port: Int, tls: TLSClientContext?, serverName: String = "localhost", timeoutSeconds: Int = 10) throws {
        try self.init(port: port, timeoutSeconds: timeoutSeconds)
        guard let tls else { return }
        let session = tls.makeSession(serverName: serverName)
        self.session = session
        var ignored: [UInt8] = []
        session.receive(nil) { ignored.append(contentsOf: $0) }
        var rounds = 0
        while session.state == .handshaking {
            rounds += 1
            if rounds > 100 { throw ClientError.malformed("handshake did not finish") }
            try rawSend(session.takeOutput())
            guard let bytes = try rawReceive() else { throw ClientError.closed }
            _ = bytes.withUnsafeBytes { session.receive($0) { pending.append(contentsOf: $0) } }
        }
        try rawSend(session.takeOutput())
        if case .failed(let error) = session.state { throw ClientError.malformed("TLS: \(error)") }
    }

    /// The names in the server certificate this TLS client was shown (empty over plain TCP).
    var peerCertificateNames: [String] { session?.peerCertificateNames ?? [] }

    /// - Parameter source: the local address to connect from (another loopback address such as
    ///   127.0.0.2 is another client to the server).
    init(port: Int, timeoutSeconds: Int = 10, source: String? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = inet_addr(source)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if bound != 0 { throw ClientError.connect(errno) }
        }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        // No close here: a class whose stored properties are set runs `deinit` when its init throws,
        // and closing twice would close whatever descriptor another thread opened in between.
        if r != 0 { throw ClientError.connect(errno) }
    }

    deinit { if fd >= 0 { Glibc.close(fd) } }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) throws {
        if let session {
            try bytes.withUnsafeBytes { raw in
                do { try session.encrypt(raw) } catch { throw ClientError.closed }
            }
            try rawSend(session.takeOutput())
        } else {
            try rawSend(bytes)
        }
    }

    /// Bytes straight to the socket, past any TLS session (hostile-input tests).
    func sendRaw(_ bytes: [UInt8]) throws { try rawSend(bytes) }

    /// Every byte until the server closes, read straight from the socket (TLS records undecrypted).
    func readRawToEnd() throws -> [UInt8] {
        var all: [UInt8] = []
        while let bytes = try rawReceive() { all += bytes }
        return all
    }

    /// Feeds raw server bytes to this client's TLS session; returns the session state afterwards.
    func decrypt(_ bytes: [UInt8]) -> TLSSession.State? {
        guard let session else { return nil }
        return bytes.withUnsafeBytes { session.receive($0) { _ in } }
    }

    private func rawSend(_ bytes: [UInt8]) throws {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { throw ClientError.closed }
            off += n
        }
    }

    /// Reads more bytes; false on EOF (or TLS close_notify).
    private func fill() throws -> Bool {
        guard let session else {
            guard let bytes = try rawReceive() else { return false }
            pending.append(contentsOf: bytes)
            return true
        }
        // TLS: read until some plaintext arrives (a record may carry only a session ticket).
        let before = pending.count
        while pending.count == before {
            guard session.state == .established, let bytes = try rawReceive() else { return false }
            _ = bytes.withUnsafeBytes { session.receive($0) { pending.append(contentsOf: $0) } }
            if session.hasOutput { try? rawSend(session.takeOutput()) }
        }
        return true
    }

    /// Bytes from the socket; nil on EOF.
    private func rawReceive() throws -> [UInt8]? {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 { throw errno == EAGAIN || errno == EWOULDBLOCK ? ClientError.timeout : ClientError.closed }
        if n == 0 { return nil }
        return Array(chunk[0..<n])
    }

    /// Every byte until the server closes (raw bytes on a plain client: TLS alerts stay visible).
    func readToEnd() throws -> [UInt8] {
        while try fill() {}
        defer { pending = [] }
        return pending
    }

    /// True if the server closed the connection (EOF) with nothing more to read.
    func isClosedByServer() throws -> Bool {
        if !pending.isEmpty { return false }
        return try !fill()
    }

    /// Reads one final response (collecting interim 1xx ones). `head: true` for HEAD requests.
    func readResponse(head: Bool = false) throws -> Response {
        var interim: [Response] = []
        while true {
            var r = try readHead()
            if (100..<200).contains(r.status) {
                interim.append(r)
                continue
            }
            let noBody = head || r.status == 304 || r.status == 204
            let length = noBody ? 0 : Int(r.header("content-length") ?? "") ?? -1
            if length >= 0 {
                while pending.count < length { guard try fill() else { throw ClientError.closed } }
                r.body = Array(pending[0..<length])
                pending.removeFirst(length)
            } else {
                while try fill() {}
                r.body = pending
                pending = []
            }
            r.interim = interim
            return r
        }
    }

    private func readHead() throws -> Response {
        while true {
            if let end = findHeadEnd() {
                let text = String(decoding: pending[0..<end], as: UTF8.self)
                pending.removeFirst(end + 4)
                var lines = text.components(separatedBy: "\r\n")
                let statusLine = lines.removeFirst().split(separator: " ")
                guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw ClientError.malformed(text) }
                var headers: [(String, String)] = []
                for line in lines {
                    guard let colon = line.firstIndex(of: ":") else { throw ClientError.malformed(line) }
                    headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
                }
                return Response(status: status, headers: headers, body: [])
            }
            guard try fill() else { throw ClientError.closed }
        }
    }

    private func findHeadEnd() -> Int? {
        guard pending.count >= 4 else { return nil }
        for i in 0...(pending.count - 4) where pending[i] == 13 && pending[i + 1] == 10 && pending[i + 2] == 13 && pending[i + 3] == 10 {
            return i
        }
        return nil
    }

    /// One request, one response, on this connection.
    func get(_ path: String, headers: [String: String] = [:], method: String = "GET", version: String = "1.1") throws -> Response {
        if let h2 { return try h2.request(method: method, path: path, headers: headers) }
        var req = "\(method) \(path) HTTP/\(version)\r\nHost: localhost\r\n"
        for (k, v) in headers { req += "\(k): \(v)\r\n" }
        req += "\r\n"
        try send(req)
        return try readResponse(head: method == "HEAD")
    }
}
