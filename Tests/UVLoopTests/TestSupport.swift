import Dispatch
import Glibc
import Synchronization
import Testing

@testable import UVLoop

/// Runs `body` with a loop running on its own thread, then stops it and checks that the loop
/// closed cleanly (`uv_loop_close` == 0) and that every handle and request it allocated was freed.
func withRunningLoop(_ body: (EventLoop) throws -> Void) throws {
    let thread = try LoopThread(name: "uvloop-test")
    let loop = thread.loop
    var bodyError: (any Error)?
    do { try body(loop) } catch { bodyError = error }
    #expect(throws: Never.self, "the loop closes with no handle left") { try thread.stopAndJoin() }
    #expect(loop.liveHandleCount == 0, "every handle and request box was freed")
    if let bodyError { throw bodyError }
}

/// Mutable state shared between the loop thread and the test thread.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    var value: Value { mutex.withLock { $0 } }
    func update<R: Sendable>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
}

/// A one-shot signal with a timeout, so a broken test fails instead of hanging.
final class Signal: Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    func fire() { semaphore.signal() }
    /// True when fired within `seconds`.
    func wait(seconds: Double = 10) -> Bool {
        semaphore.wait(timeout: .now() + seconds) == .success
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A blocking POSIX client socket for the test thread (10 s receive timeout).
final class TestSocket {
    let fd: Int32

    init(connectingToPort port: Int, host: String = "127.0.0.1") throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: \(errno)") }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        inet_pton(AF_INET, host, &address.sin_addr)
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard status == 0 else {
            // No close here: `deinit` runs when this init throws (every stored property is set), and
            // a second close would hit whatever descriptor another thread opened in between.
            throw TestFailure("connect: \(errno)")
        }
    }

    deinit { Glibc.close(fd) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw TestFailure("send: \(errno)") }
            offset += sent
        }
    }

    func send(_ string: String) throws { try send(Array(string.utf8)) }

    /// Reads exactly `count` bytes (fails on EOF or timeout).
    func receive(exactly count: Int) throws -> [UInt8] {
        var result = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let received = result[offset...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard received > 0 else { throw TestFailure("recv after \(offset) of \(count): \(received) errno \(errno)") }
            offset += received
        }
        return result
    }

    /// Reads until the peer closes, handing each chunk to `body`; returns the byte count.
    @discardableResult
    func receiveUntilEOF(_ body: (UnsafeRawBufferPointer) -> Void = { _ in }) throws -> Int {
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 16)
        defer { chunk.deallocate() }
        var total = 0
        while true {
            let received = recv(fd, chunk.baseAddress, chunk.count, 0)
            if received == 0 { return total }
            guard received > 0 else { throw TestFailure("recv after \(total) bytes: errno \(errno)") }
            body(UnsafeRawBufferPointer(rebasing: chunk[0..<received]))
            total += received
        }
    }

    /// Reads and drops bytes until the peer closes: 0 for a clean EOF, else the errno
    /// (ECONNRESET when the peer closed with unread data, EAGAIN on timeout).
    func waitForClose() -> Int32 {
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let received = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if received == 0 { return 0 }
            if received < 0 { return errno }
        }
    }

    func shutdownWrite() { Glibc.shutdown(fd, Int32(SHUT_WR)) }
}

/// A deterministic byte stream with a long prime period, so reordered or lost chunks show up
/// as mismatches; checked with memcmp so debug builds stay fast.
enum Pattern {
    static let period = 65_521

    static let block: [UInt8] = (0..<period).map { UInt8(truncatingIfNeeded: ($0 &* 7) ^ ($0 >> 8)) }

    /// `block` repeated enough to compare any window of up to 512 KiB.
    static let comparisonWindow: [UInt8] = {
        var bytes: [UInt8] = []
        while bytes.count < period + 512 * 1024 { bytes += block }
        return bytes
    }()

    /// Bytes `offset ..< offset + count` of the stream.
    static func bytes(offset: Int, count: Int) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(count)
        var position = offset
        while result.count < count {
            let start = position % period
            let take = min(period - start, count - result.count)
            result += block[start..<(start + take)]
            position += take
        }
        return result
    }

    /// Checks received bytes against the stream; keeps the stream position between chunks.
    struct Checker {
        var position = 0
        var mismatchAt: Int?

        mutating func check(_ chunk: UnsafeRawBufferPointer) {
            var done = 0
            while done < chunk.count {
                let take = min(chunk.count - done, 512 * 1024)
                let start = (position + done) % Pattern.period
                let equal = Pattern.comparisonWindow.withUnsafeBytes { window in
                    memcmp(window.baseAddress! + start, chunk.baseAddress! + done, take) == 0
                }
                if !equal && mismatchAt == nil { mismatchAt = position + done }
                done += take
            }
            position += chunk.count
        }
    }
}

/// A file under /tmp holding `bytes`, removed when the value is dropped.
final class TemporaryFile: Sendable {
    let path: String

    init(contents bytes: [UInt8]) throws {
        var template = Array("/tmp/uvloop-test-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        guard fd >= 0 else { throw TestFailure("mkstemp: \(errno)") }
        path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            guard written > 0 else { throw TestFailure("write: \(errno)") }
            offset += written
        }
    }

    deinit { unlink(path) }
}
