import ArtifactStore
import Foundation
import Glibc
import Synchronization
import WharfTestSupport

/// One real `wharf edge` process on ephemeral ports: an origin (its own store, published into
/// with `wharf publish`) or a tier edge (`--origin` the origin's admin listener).
final class TierNode {
    static let adminToken = "tier-admin-\(UInt32.random(in: 0...UInt32.max))"
    static let readToken = "tier-read-\(UInt32.random(in: 0...UInt32.max))"

    let daemon: WharfDaemon
    let port: Int
    let admin: Int
    let store: String

    /// `adminPort` 0: ephemeral. `environment` adds `WHARF_…` settings (e.g. the disk budget).
    /// `originURL` overrides `origin` (e.g. an https origin).
    init(
        _ scratch: ScratchDirectory, name: String, origin: Int? = nil, originURL: String? = nil, adminPort: Int = 0, cacheBytes: Int? = nil,
        environment: [String: String] = [:]
    ) throws {
        store = scratch.path + "/" + name
        var arguments = ["edge", "--store", store, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:\(adminPort)", "--workers", "1"]
        if let originURL { arguments += ["--origin", originURL] } else if let origin { arguments += ["--origin", "http://127.0.0.1:\(origin)"] }
        if let cacheBytes { arguments += ["--cache-bytes", String(cacheBytes)] }
        var env = ["WHARF_ADMIN_TOKEN": Self.adminToken, "WHARF_READ_TOKEN": Self.readToken, "WHARF_ORIGIN_TOKEN": Self.readToken]
        for (k, v) in environment { env[k] = v }
        let log = scratch.path + "/\(name)-\(UInt32.random(in: 0...UInt32.max)).log"
        daemon = try WharfDaemon(arguments, stderrPath: log, environment: env)
        let daemon = self.daemon
        guard eventually(30, { daemon.stderr.contains("admin API on") || !daemon.process.isRunning }),
            let admin = SchedulerAPITests.port(after: "admin API on http://127.0.0.1:", in: daemon.stderr)
                ?? SchedulerAPITests.port(after: "admin API on https://127.0.0.1:", in: daemon.stderr),
            let port = SchedulerAPITests.port(after: "edge listening on http://127.0.0.1:", in: daemon.stderr)
        else {
            throw CommandFailed("wharf edge \(name) did not start:\n\(daemon.stderr)")
        }
        (self.admin, self.port) = (admin, port)
    }

    /// The value of an unlabelled metric on this node's `/_wharf/metrics`.
    func metric(_ name: String, label: String = "") throws -> Double {
        let response = try CurlResponse.send("GET", "http://127.0.0.1:\(admin)/_wharf/metrics", token: Self.adminToken)
        for line in response.body.split(separator: "\n") where line.hasPrefix(name + label + " ") {
            return Double(line.split(separator: " ").last ?? "") ?? .nan
        }
        throw CommandFailed("no \(name)\(label) in the metrics of \(store)")
    }
}

/// A plain HTTP/1.1 GET over a fresh connection (`Connection: close`), read to the end: fast
/// enough to poll three edges every few milliseconds, and it returns the exact body bytes.
enum RawHTTP {
    struct Response {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    static func connect(_ port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            close(fd)
            throw CommandFailed("connect to \(port): \(String(cString: strerror(errno)))")
        }
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    static func request(_ path: String, headers: [String: String] = [:]) -> [UInt8] {
        var text = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        for (k, v) in headers.sorted(by: { $0.key < $1.key }) { text += "\(k): \(v)\r\n" }
        return Array((text + "\r\n").utf8)
    }

    static func send(_ fd: Int32, _ bytes: [UInt8]) {
        var done = 0
        while done < bytes.count {
            let n = bytes[done...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return }
            done += n
        }
    }

    /// Reads a whole response until the server closes; throws on a malformed one.
    static func read(_ fd: Int32) throws -> Response {
        defer { close(fd) }
        var all: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            all += buffer[0..<n]
        }
        func headEnd() -> Int? {
            all.indices.dropLast(3).first(where: { all[$0] == 13 && all[$0 + 1] == 10 && all[$0 + 2] == 13 && all[$0 + 3] == 10 })
        }
        // Interim responses (103 Early Hints) come first: skip them.
        while all.starts(with: Array("HTTP/1.1 1".utf8)), let interim = headEnd() { all.removeFirst(interim + 4) }
        guard let end = headEnd() else {
            throw CommandFailed("no response head (\(all.count) bytes)")
        }
        let lines = String(decoding: all[..<end], as: UTF8.self).split(separator: "\r\n")
        let status = Int(lines.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Array(all[(end + 4)...])
        if headers["transfer-encoding"]?.lowercased() == "chunked" { body = try dechunk(body) }
        if let length = headers["content-length"].flatMap(Int.init), length != body.count {
            throw CommandFailed("body of \(body.count) bytes, Content-Length \(length)")
        }
        return Response(status: status, headers: headers, body: body)
    }

    /// The data of a complete chunked body (the test's own reading; the edge's is `ChunkedDecoder`).
    static func dechunk(_ bytes: [UInt8]) throws -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while true {
            guard let lineEnd = bytes[i...].indices.dropLast().first(where: { bytes[$0] == 13 && bytes[$0 + 1] == 10 }),
                let size = Int(String(decoding: bytes[i..<lineEnd], as: UTF8.self).split(separator: ";").first ?? "", radix: 16)
            else {
                throw CommandFailed("bad chunked body")
            }
            if size == 0 { return out }
            guard lineEnd + 2 + size <= bytes.count else { throw CommandFailed("truncated chunked body") }
            out += bytes[(lineEnd + 2)..<(lineEnd + 2 + size)]
            i = lineEnd + 2 + size + 2
        }
    }

    static func get(_ port: Int, _ path: String, headers: [String: String] = [:]) throws -> Response {
        let fd = try connect(port)
        send(fd, request(path, headers: headers))
        return try read(fd)
    }
}

/// A TCP proxy between a tier edge and its origin that can flip one byte in the body of blob
/// responses (a corruption in flight) or hold blob requests unanswered (a stalled origin).
final class TierProxy: Sendable {
    enum Mode: Int { case pass, corrupt, stall }

    let port: Int
    private let upstream: Int
    private let listener: Int32
    private let mode = Atomic<Int>(Mode.pass.rawValue)
    private let stopped = Atomic<Bool>(false)
    let corrupted = Atomic<Int>(0)

    init(upstream: Int) throws {
        self.upstream = upstream
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 128) == 0 else { throw CommandFailed("proxy listen failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        port = Int(UInt16(bigEndian: address.sin_port))
        listener = fd
        Thread { [self] in acceptLoop() }.start()
    }

    func set(_ m: Mode) { mode.store(m.rawValue, ordering: .relaxed) }

    func stop() {
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
            Thread { [self] in relay(client) }.start()
        }
    }

    private func relay(_ client: Int32) {
        guard let server = try? RawHTTP.connect(upstream) else {
            close(client)
            return
        }
        var timeout = timeval(tv_sec: 400, tv_usec: 0)
        setsockopt(server, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        // The request head first, to know whether this is a blob.
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while String(decoding: request, as: UTF8.self).range(of: "\r\n\r\n") == nil {
            let n = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            guard n > 0, request.count < 65536 else {
                close(client)
                close(server)
                return
            }
            request += buffer[0..<n]
        }
        let isBlob = String(decoding: request, as: UTF8.self).contains("/_wharf/api/replica/blobs/")
        let current = Mode(rawValue: mode.load(ordering: .relaxed)) ?? .pass
        if isBlob && current == .stall {
            Thread.sleep(forTimeInterval: 5)
            close(client)
            close(server)
            return
        }
        RawHTTP.send(server, request)
        var seen = 0
        var headEnd: Int?
        var head: [UInt8] = []
        var flipped = false
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(server, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            var piece = Array(buffer[0..<n])
            if isBlob && current == .corrupt && !flipped {
                if headEnd == nil {
                    head += piece
                    if let i = head.indices.dropLast(3).first(where: {
                        head[$0] == 13 && head[$0 + 1] == 10 && head[$0 + 2] == 13 && head[$0 + 3] == 10
                    }) {
                        headEnd = i + 4
                    }
                }
                // Byte 100 of the body: inside the first chunk's data (its size line is a few bytes).
                if let headEnd, headEnd + 100 < seen + n {
                    let at = headEnd + 100 - seen
                    if at >= 0 {
                        piece[at] ^= 0x20
                        flipped = true
                        corrupted.add(1, ordering: .relaxed)
                    }
                }
            }
            seen += n
            RawHTTP.send(client, piece)
        }
        close(client)
        close(server)
    }
}

extension Array where Element == UInt8 {
    var sha256: String { ContentHash.of(self) }
}
