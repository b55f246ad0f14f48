import Foundation
import GRDB
import Synchronization
import Testing

@testable import Scheduler

#if canImport(Glibc)
    import Glibc
    import WharfTestSupport
#endif

/// A tiny HTTP/1.1 receiver on 127.0.0.1 (threads + POSIX sockets): answers each request by the
/// next scripted behaviour, records what it received. Every wait is bounded.
final class TestReceiver: @unchecked Sendable {
    enum Behaviour: Sendable {
        case status(Int)
        /// Reads the request and never answers (until stopped).
        case hang
        /// Answers with these bytes, whatever they are, and closes.
        case raw(String)
    }

    struct Request: Sendable {
        var head: String
        var body: [UInt8]
        func header(_ name: String) -> String? {
            head.split(separator: "\r\n").dropFirst().first { $0.lowercased().hasPrefix(name.lowercased() + ":") }
                .map { String($0.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces) }
        }
    }

    let port: Int
    private let listener: Int32
    private let state = Mutex<(script: [Behaviour], requests: [Request], held: [Int32], stopped: Bool)>(([], [], [], false))
    private let fallback: Behaviour
    private let exited = DispatchSemaphore(value: 0)

    init(port: Int = 0, script: [Behaviour] = [], then fallback: Behaviour = .status(200)) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.port = Int(UInt16(bigEndian: address.sin_port))
        self.listener = fd
        self.fallback = fallback
        state.withLock { $0.script = script }
        let thread = Thread { [self] in serve() }
        thread.start()
    }

    /// A port nothing listens on (bound, then closed): connections to it are refused.
    static func closedPort() throws -> Int {
        let receiver = try TestReceiver()
        let port = receiver.port
        receiver.stop()
        return port
    }

    var url: WebhookURL { try! WebhookURL(parsing: "http://127.0.0.1:\(port)/hooks/wharf?team=builds") }
    var requests: [Request] { state.withLock { $0.requests } }

    func stop() {
        let held = state.withLock { s -> [Int32] in
            s.stopped = true
            return s.held
        }
        _ = exited.wait(timeout: .now() + 5)
        for fd in held { close(fd) }
    }

    private var isStopped: Bool { state.withLock { $0.stopped } }

    private func serve() {
        defer {
            close(listener)
            exited.signal()
        }
        while !isStopped {
            var entry = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 50) > 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            var timeout = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            guard let request = read(client) else {
                close(client)
                continue
            }
            let behaviour = state.withLock { s -> Behaviour in
                s.requests.append(request)
                return s.script.isEmpty ? fallback : s.script.removeFirst()
            }
            switch behaviour {
            case .status(let code):
                let response = "HTTP/1.1 \(code) Scripted\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                _ = response.withCString { send(client, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
                close(client)
            case .hang:
                state.withLock { $0.held.append(client) }
            case .raw(let bytes):
                _ = bytes.withCString { send(client, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
                close(client)
            }
        }
    }

    private func read(_ fd: Int32) -> Request? {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var headEnd: Int?
        var contentLength = 0
        for _ in 0..<1000 {
            if let end = headEnd, bytes.count >= end + contentLength {
                return Request(head: String(decoding: bytes[..<end], as: UTF8.self), body: Array(bytes[end..<(end + contentLength)]))
            }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return nil }
            bytes += buffer[0..<n]
            if headEnd == nil, let range = bytes.firstRange(of: Array("\r\n\r\n".utf8)) {
                headEnd = range.upperBound
                let head = String(decoding: bytes[..<range.lowerBound], as: UTF8.self).lowercased()
                for line in head.split(separator: "\r\n") where line.hasPrefix("content-length:") {
                    contentLength = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
                }
            }
        }
        return nil
    }
}

/// Polls `condition` every 10 ms for at most `seconds`.
@Suite struct WebhookDeliveryTests {
    struct Setup {
        var alerts: AlertStore
        var delivery: WebhookDelivery
    }

    func setUp(
        _ dir: TemporaryDirectory, url: WebhookURL, timeout: Double = 2,
        log: @escaping @Sendable (String) -> Void = { _ in }
    ) throws -> Setup {
        let database = try SchedulerDatabase.open(path: dir.path + "/scheduler.sqlite")
        let delivery = try WebhookDelivery(
            database: database, configuration: WebhookConfiguration(url: url, timeout: timeout, initialBackoff: 0.05, maxBackoff: 0.2),
            log: log)
        return Setup(alerts: AlertStore(database: database, onDeliveryQueued: delivery.wake), delivery: delivery)
    }

    func condition(_ key: String) -> AlertCondition {
        AlertCondition(key: key, kind: .backlog, summary: "alert \(key)", details: ["queued": .number(11)])
    }

    func payload(_ request: TestReceiver.Request) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])
    }

    @Test func eachFiringAndResolutionIsPostedAsJSON() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let receiver = try TestReceiver()
        defer { receiver.stop() }
        let setup = try setUp(dir, url: receiver.url)
        setup.delivery.start()
        defer { setup.delivery.stop() }
        try setup.alerts.raise(condition("backlog"), now: t0)
        try setup.alerts.raise(condition("backlog"), now: t0.addingTimeInterval(1))  // a repeat: not posted
        try setup.alerts.resolve(key: "backlog", now: t0.addingTimeInterval(2))
        #expect(try eventually { try setup.delivery.pendingCount() == 0 })

        let requests = receiver.requests
        #expect(requests.count == 2)
        let first = try #require(requests.first)
        #expect(first.head.hasPrefix("POST /hooks/wharf?team=builds HTTP/1.1\r\n"))
        #expect(first.header("Content-Type") == "application/json")
        #expect(first.header("Host") == "127.0.0.1:\(receiver.port)")
        #expect(first.header("X-Wharf-Event") == "firing")
        let body = try payload(first)
        #expect(body["event"] as? String == "firing")
        #expect("\(body["deliveryId"] ?? "")" == first.header("X-Wharf-Delivery"))
        let alert = try #require(body["alert"] as? [String: Any])
        #expect(alert["key"] as? String == "backlog")
        #expect(alert["state"] as? String == "firing")
        #expect(alert["summary"] as? String == "alert backlog")
        #expect((alert["details"] as? [String: Any])?["queued"] as? Double == 11)
        let second = try payload(requests[1])
        #expect(second["event"] as? String == "resolved")
        #expect((second["alert"] as? [String: Any])?["count"] as? Int == 2)
        #expect(setup.delivery.deliveredCount == 2)
    }

    @Test func aReceiverFailingWith500FirstGetsEveryAlertInOrderOnceItRecovers() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let receiver = try TestReceiver(script: [.status(500), .status(503)])
        defer { receiver.stop() }
        let lines = Mutex<[String]>([])
        let setup = try setUp(dir, url: receiver.url, log: { line in lines.withLock { $0.append(line) } })
        setup.delivery.start()
        defer { setup.delivery.stop() }
        for key in ["a", "b", "c"] { try setup.alerts.raise(condition(key), now: t0) }
        #expect(try eventually { try setup.delivery.pendingCount() == 0 })

        let ids = receiver.requests.map { $0.header("X-Wharf-Delivery") ?? "" }
        #expect(ids == ["1", "1", "1", "2", "3"])
        let keys = try receiver.requests.suffix(3).map { try (payload($0)["alert"] as? [String: Any])?["key"] as? String }
        #expect(keys == ["a", "b", "c"])
        let attempts = try setup.alerts.database.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT attempts, delivered_at, last_error FROM alert_delivery ORDER BY id")
        }
        #expect(attempts.map { $0["attempts"] as Int } == [3, 1, 1])
        #expect(attempts.allSatisfy { ($0["delivered_at"] as Double?) != nil && ($0["last_error"] as String?) == nil })
        #expect(setup.delivery.failedAttemptCount == 2)
        #expect(lines.withLock { $0.count } == 2)
        #expect(lines.withLock { $0.first?.contains("HTTP 500") } == true)
    }

    @Test func aRefusedConnectionIsRetriedUntilTheReceiverComesUp() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let port = try TestReceiver.closedPort()
        let url = try WebhookURL(parsing: "http://127.0.0.1:\(port)/hook")
        let setup = try setUp(dir, url: url)
        setup.delivery.start()
        defer { setup.delivery.stop() }
        try setup.alerts.raise(condition("x"), now: t0)
        try setup.alerts.raise(condition("y"), now: t0)
        #expect(eventually { setup.delivery.failedAttemptCount >= 2 })
        let error = try setup.alerts.database.writer.read { db in
            try String.fetchOne(db, sql: "SELECT last_error FROM alert_delivery WHERE id = 1")
        }
        #expect(error?.contains("refused") == true)
        #expect(try setup.delivery.pendingCount() == 2)

        let receiver = try TestReceiver(port: port)
        defer { receiver.stop() }
        #expect(try eventually { try setup.delivery.pendingCount() == 0 })
        #expect(receiver.requests.map { $0.header("X-Wharf-Delivery") } == ["1", "2"])
    }

    @Test func undeliveredAlertsSurviveARestartAndAreSentByTheNextProcess() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let dead = try WebhookURL(parsing: "http://127.0.0.1:\(try TestReceiver.closedPort())/")
        let first = try setUp(dir, url: dead)
        first.delivery.start()
        for key in ["p", "q", "r"] { try first.alerts.raise(condition(key), now: t0) }
        #expect(eventually { first.delivery.failedAttemptCount >= 1 })
        first.delivery.stop()
        #expect(try first.delivery.pendingCount() == 3)

        let receiver = try TestReceiver()
        defer { receiver.stop() }
        let second = try setUp(dir, url: receiver.url)
        second.delivery.start()
        defer { second.delivery.stop() }
        #expect(try eventually { try second.delivery.pendingCount() == 0 })
        #expect(receiver.requests.count == 3)
    }

    @Test func aReceiverThatNeverAnswersDoesNotSlowRaisingAlerts() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let receiver = try TestReceiver(script: [], then: .hang)
        defer { receiver.stop() }
        let setup = try setUp(dir, url: receiver.url, timeout: 0.5)
        setup.delivery.start()
        let clock = ContinuousClock()
        let elapsed = try clock.measure {
            for i in 0..<20 { try setup.alerts.raise(condition("k\(i)"), now: t0) }
        }
        #expect(elapsed < .seconds(1))
        #expect(eventually { setup.delivery.failedAttemptCount >= 1 })
        let error = try setup.alerts.database.writer.read { db in
            try String.fetchOne(db, sql: "SELECT last_error FROM alert_delivery WHERE id = 1")
        }
        #expect(error?.hasPrefix("timed out") == true, "\(error ?? "")")
        let stopping = clock.measure { setup.delivery.stop() }
        #expect(stopping < .seconds(2))
        #expect(try setup.delivery.pendingCount() == 20)
    }

    @Test func aReceiverAnsweringGarbageOrARedirectHasNotReceivedTheAlert() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let redirect = "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:1/elsewhere\r\nContent-Length: 0\r\n\r\n"
        let receiver = try TestReceiver(
            script: [.raw("SSH-2.0-OpenSSH_9.2\r\n"), .raw(redirect), .raw("HTTP/1.1 2000 Nope\r\n\r\n")],
            then: .status(204))
        defer { receiver.stop() }
        let setup = try setUp(dir, url: receiver.url, timeout: 2)
        try setup.alerts.raise(condition("garbage"), now: t0)
        var errors: [String] = []
        for _ in 0..<3 {
            #expect(try setup.delivery.deliverDue().delivered == 0)
            errors.append(
                try setup.alerts.database.writer.read { db in
                    try String.fetchOne(db, sql: "SELECT last_error FROM alert_delivery WHERE id = 1")
                } ?? "")
            Thread.sleep(forTimeInterval: 0.25)  // past the backoff (at most 0.2 s here)
        }
        #expect(errors[1] == "HTTP 307", "a redirect is not followed: \(errors)")
        #expect(!errors[0].isEmpty && !errors[2].isEmpty, "\(errors)")
        #expect(try setup.delivery.deliverDue().delivered == 1)
        #expect(receiver.requests.count == 4)
    }

    @Test func twoHundredAlertsReachALocalReceiverInOrderQuickly() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let receiver = try TestReceiver()
        defer { receiver.stop() }
        let setup = try setUp(dir, url: receiver.url)
        for i in 0..<200 { try setup.alerts.raise(condition("bulk\(i)"), now: Date()) }
        let started = ContinuousClock.now
        setup.delivery.start()
        #expect(try eventually(20) { try setup.delivery.pendingCount() == 0 })
        let elapsed = started.duration(to: .now)
        setup.delivery.stop()
        print("webhook: 200 deliveries to a loopback receiver in \(elapsed)")
        #expect(receiver.requests.map { $0.header("X-Wharf-Delivery") } == (1...200).map { "\($0)" })
        #expect(elapsed < .seconds(10))
    }

    @Test func backoffDoublesFromTheInitialWaitUpToTheCap() throws {
        let config = WebhookConfiguration(url: try WebhookURL(parsing: "http://h/"), initialBackoff: 2, maxBackoff: 600)
        #expect((1...10).map { config.backoff(afterFailures: $0) } == [2, 4, 8, 16, 32, 64, 128, 256, 512, 600])
        #expect(config.backoff(afterFailures: 10_000) == 600)
        #expect(throws: SchedulerError.self) {
            try WebhookConfiguration(url: config.url, initialBackoff: 10, maxBackoff: 5).validate()
        }
        #expect(throws: SchedulerError.self) { try WebhookConfiguration(url: config.url, timeout: 0).validate() }
    }

    @Test func webhookURLsAreParsedAndHTTPSAndMalformedOnesRefused() throws {
        let plain = try WebhookURL(parsing: "http://alerts.example.test/hook?x=1#frag")
        #expect(plain.host == "alerts.example.test")
        #expect(plain.port == 80)
        #expect(plain.target == "/hook?x=1")
        #expect(plain.hostHeader == "alerts.example.test")
        let bare = try WebhookURL(parsing: "HTTP://127.0.0.1:9000")
        #expect(bare.port == 9000)
        #expect(bare.target == "/")
        let v6 = try WebhookURL(parsing: "http://[::1]:8080/h")
        #expect(v6.host == "::1")
        #expect(v6.hostHeader == "[::1]:8080")

        #expect(throws: WebhookURL.ParseError.httpsNotSupported) { try WebhookURL(parsing: "https://example.test/") }
        for bad in [
            "ftp://x/", "http://", "http://:80/", "http://user:pw@host/", "http://host:0/", "http://host:70000/",
            "http://host:abc/", "http://ho st/", "http://host/\u{0}", "http://[::1/", "http://[::1]x/",
            "http://" + String(repeating: "a", count: 3000),
        ] {
            #expect(throws: WebhookURL.ParseError.self, "\(bad)") { try WebhookURL(parsing: bad) }
        }
    }

}
