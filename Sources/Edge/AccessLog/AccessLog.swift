import Foundation
import Glibc
import Synchronization

/// The access log of one edge process: each loop formats its lines into a buffer of its own and
/// hands a batch over every 64 KB or 250 ms; one background thread writes what gathered every
/// `flushMs`, in one write per batch. A loop never makes a write syscall for a request and never
/// waits for the writer: the hand-over takes a lock held only to append or swap an array, and
/// when the lines waiting pass `bufferBytes` a batch is dropped and its lines counted.
/// SIGUSR1 (through `reopen()`) makes the writer reopen the file by name (rotation).
public final class AccessLog: Sendable {
    public let configuration: AccessLogConfiguration
    private let queue = Mutex<Pending>(Pending())
    private let wake = DispatchSemaphore(value: 0)
    private let stopping = Atomic<Bool>(false)
    private let reopenRequested = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    /// Lines written, lines dropped (writer behind or a write failed), bytes written, reopens.
    public let linesWritten = Atomic<Int>(0)
    public let linesDropped = Atomic<Int>(0)
    public let bytesWritten = Atomic<Int>(0)
    public let reopens = Atomic<Int>(0)
    private let logger: @Sendable (String) -> Void

    struct Pending {
        var batches: [[UInt8]] = []
        var lines = 0
        var bytes = 0
    }

    /// Opens (creates, appends to) the file and starts the writer thread.
    public init(_ configuration: AccessLogConfiguration, logger: @escaping @Sendable (String) -> Void = { _ in }) throws {
        self.configuration = configuration
        self.logger = logger
        let fd = try AccessLog.open(configuration.path)
        let thread = Thread { [self] in writerLoop(fd: fd) }
        thread.name = "wharf-access-log"
        thread.start()
    }

    static func open(_ path: String) throws -> Int32 {
        let fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        if fd < 0 {
            throw NSError(
                domain: "wharf.access_log", code: Int(errno),
                userInfo: [NSLocalizedDescriptionKey: "cannot open access log \(path): \(String(cString: strerror(errno)))"])
        }
        return fd
    }

    /// Takes a loop's batch of `lines` complete lines; drops it (counted) if too much is waiting.
    func submit(_ batch: [UInt8], lines: Int) {
        let accepted = queue.withLock { q -> Bool in
            guard q.bytes + batch.count <= configuration.bufferBytes else { return false }
            q.batches.append(batch)
            q.lines += lines
            q.bytes += batch.count
            return true
        }
        if !accepted { linesDropped.add(lines, ordering: .relaxed) }
    }

    /// Reopens the file by its name before the next write (log rotation: rename, then SIGUSR1).
    public func reopen() {
        reopenRequested.store(true, ordering: .releasing)
        wake.signal()
    }

    /// Writes what is waiting and stops the writer (loops should have handed their batches over).
    public func stop() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        wake.signal()
        finished.wait()
    }

    private func writerLoop(fd initial: Int32) {
        var fd = initial
        while true {
            _ = wake.wait(timeout: .now() + .milliseconds(configuration.flushMs))
            let last = stopping.load(ordering: .acquiring)
            if reopenRequested.exchange(false, ordering: .acquiringAndReleasing) {
                if let fresh = try? AccessLog.open(configuration.path) {
                    close(fd)
                    fd = fresh
                    reopens.add(1, ordering: .relaxed)
                } else {
                    logger("access log: cannot reopen \(configuration.path); writing to the old file")
                }
            }
            let pending = queue.withLock { q -> Pending in
                defer { q = Pending() }
                return q
            }
            if !pending.batches.isEmpty { write(pending, to: fd) }
            if last { break }
        }
        close(fd)
        finished.signal()
    }

    /// One `writev` for the whole batch list (repeated only for a short write).
    private func write(_ pending: Pending, to fd: Int32) {
        var all: [UInt8] = []
        all.reserveCapacity(pending.bytes)
        for b in pending.batches { all.append(contentsOf: b) }
        var offset = 0
        while offset < all.count {
            let n = all.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, all.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                linesDropped.add(pending.lines, ordering: .relaxed)
                logger("access log: write failed: \(String(cString: strerror(errno)))")
                return
            }
            offset += n
        }
        linesWritten.add(pending.lines, ordering: .relaxed)
        bytesWritten.add(all.count, ordering: .relaxed)
    }

    func metrics(_ text: inout PrometheusText) {
        text.counter("wharf_access_log_lines_total", help: "Access-log lines written.", linesWritten.load(ordering: .relaxed))
        text.counter(
            "wharf_access_log_dropped_total", help: "Access-log lines dropped (the writer fell behind or a write failed).",
            linesDropped.load(ordering: .relaxed))
        text.counter(
            "wharf_access_log_reopens_total", help: "Times the access log was reopened (SIGUSR1).",
            reopens.load(ordering: .relaxed))
    }
}

/// One loop's side of the access log: formats lines into its own buffer, hands batches over.
/// Loop thread only.
final class LoopAccessLog {
    let log: AccessLog
    private var buffer: [UInt8] = []
    private var lines = 0
    private var second = -1
    private var combinedTime: [UInt8] = []
    private var isoTime: [UInt8] = []
    static let handOverBytes = 64 * 1024

    init(_ log: AccessLog) {
        self.log = log
        buffer.reserveCapacity(Self.handOverBytes + 1024)
    }

    /// Formats one response's line.
    func append(_ request: AccessLogRequest, status: Int, bytes: Int, seconds: Double) {
        refreshTime()
        switch log.configuration.format {
        case .combined: AccessLogLine.combined(request, status: status, bytes: bytes, seconds: seconds, time: combinedTime, into: &buffer)
        case .json: AccessLogLine.json(request, status: status, bytes: bytes, seconds: seconds, isoTime: isoTime, into: &buffer)
        }
        lines += 1
        if buffer.count >= Self.handOverBytes { handOver() }
    }

    /// Gives the lines gathered so far to the writer (each tick, and when the buffer is full).
    func handOver() {
        guard lines > 0 else { return }
        log.submit(buffer, lines: lines)
        buffer = []
        buffer.reserveCapacity(Self.handOverBytes + 1024)
        lines = 0
    }

    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    private func refreshTime() {
        let now = EdgeClock.unixSeconds()
        guard now != second else { return }
        second = now
        var t = time_t(now)
        var tm = Glibc.tm()
        gmtime_r(&t, &tm)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let year = Int(tm.tm_year) + 1900
        let clock = "\(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec))"
        combinedTime = Array("\(two(tm.tm_mday))/\(Self.months[Int(tm.tm_mon)])/\(year):\(clock) +0000".utf8)
        isoTime = Array("\(year)-\(two(tm.tm_mon + 1))-\(two(tm.tm_mday))T\(clock)Z".utf8)
    }
}
