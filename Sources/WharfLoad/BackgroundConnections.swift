import UVLoop

/// Load beside the measured client: idle keep-alive connections (each makes one request, then
/// stays open and silent) and slowloris connections (a request head trickled one header line at
/// a time, never finished; reopened when the server drops them). Loop thread only.
final class BackgroundConnections {
    let loop: EventLoop
    let host: String
    let port: Int
    let idleCount: Int
    let slowlorisCount: Int
    let slowlorisInterval: Duration
    let request: SharedBytes
    let slowPath: String
    let hostHeader: String

    private var idle: [LoadConnection] = []
    private var idleOpened = 0
    private var idleFailures: [String: Int] = [:]
    private var slow: [TCPConnection?] = []
    private var slowClosedByServer = 0
    private var slowReconnects = 0
    private var slowLines = 0
    private var trickle: LoopTimer?
    private var stopped = false

    init(
        loop: EventLoop, host: String, port: Int, idle: Int, slowloris: Int, slowlorisInterval: Duration,
        request: SharedBytes, slowPath: String, hostHeader: String
    ) {
        self.loop = loop
        self.host = host
        self.port = port
        idleCount = idle
        slowlorisCount = slowloris
        self.slowlorisInterval = slowlorisInterval
        self.request = request
        self.slowPath = slowPath
        self.hostHeader = hostHeader
    }

    /// Opens everything (at most 256 connects at a time), then calls `ready`; gives up waiting
    /// after 60 s (the report says how many opened).
    func start(ready: @escaping () -> Void) {
        var settled = 0
        var nextToOpen = 0
        var calledReady = false
        let total = idleCount
        func done() {
            guard !calledReady else { return }
            calledReady = true
            startSlowloris()
            ready()
        }
        let request = self.request
        for i in 0..<idleCount {
            let connection = LoadConnection(index: i, loop: loop, host: host, port: port, requestBytes: { _ in request }, isHead: { _ in false })
            var answered = false
            connection.onReady = { [weak connection] _ in
                guard let connection, !answered else { return }
                connection.enqueue(PendingRequest(template: 0, intended: MonotonicClock.now(), verify: false))
            }
            connection.onComplete = { [self] _, response in
                guard !answered else { return }
                answered = true
                if response.head.status == 200 { idleOpened += 1 } else { idleFailures["status-\(response.head.status)", default: 0] += 1 }
                settled += 1
                openMore()
            }
            connection.onFailure = { [self] c, _, kind in
                guard !answered else { return }
                answered = true
                c.close()
                idleFailures[kind, default: 0] += 1
                settled += 1
                openMore()
            }
            idle.append(connection)
        }
        func openMore() {
            while nextToOpen < idle.count && nextToOpen - settled < 256 {
                idle[nextToOpen].connect()
                nextToOpen += 1
            }
            if settled == total { done() }
        }
        openMore()
        LoopTimer.once(on: loop, after: .seconds(60)) { done() }
    }

    private func startSlowloris() {
        guard slowlorisCount > 0 else { return }
        slow = Array(repeating: nil, count: slowlorisCount)
        for i in 0..<slowlorisCount { openSlow(i) }
        let timer = LoopTimer(loop: loop)
        timer.start(after: slowlorisInterval, repeating: slowlorisInterval) { [self] in
            slowLines += 1
            let line = WriteBuffer(string: "X-Slow-\(slowLines): 1\r\n")
            for connection in slow { connection?.write(line) }
        }
        trickle = timer
    }

    private func openSlow(_ i: Int) {
        guard !stopped else { return }
        let head = "GET \(slowPath) HTTP/1.1\r\nHost: \(hostHeader)\r\nUser-Agent: wharf-load-slowloris\r\n"
        TCPConnection.connect(on: loop, host: host, port: port) { [self] result in
            guard case .success(let connection) = result else {
                if !stopped { LoopTimer.once(on: loop, after: .milliseconds(200)) { [self] in openSlow(i) } }
                return
            }
            if stopped {
                connection.close()
                return
            }
            slow[i] = connection
            connection.write(WriteBuffer(string: head))
            connection.startReading(
                onData: { _ in },
                onEnd: { [self, weak connection] _ in
                    connection?.close()
                    slow[i] = nil
                    guard !stopped else { return }
                    slowClosedByServer += 1
                    slowReconnects += 1
                    openSlow(i)
                })
        }
    }

    /// Closes everything and reports.
    func finish() -> RunResult.BackgroundReport {
        stopped = true
        trickle?.close()
        let idleOpenAtEnd = idle.filter(\.isOpen).count
        let slowOpen = slow.compactMap { $0 }.count
        for connection in idle { connection.close() }
        for connection in slow { connection?.close() }
        return RunResult.BackgroundReport(
            idleRequested: idleCount, idleOpened: idleOpened, idleOpenAtEnd: idleOpenAtEnd, idleFailures: idleFailures,
            slowlorisRequested: slowlorisCount, slowlorisOpenAtEnd: slowOpen,
            slowlorisClosedByServer: slowClosedByServer, slowlorisReconnects: slowReconnects)
    }
}
