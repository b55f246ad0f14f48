// A standalone driver for scripts/leakcheck-uvloop.sh: exercises every UVLoop handle and request
// type (including error and cancellation paths) on real sockets, files and processes, then checks
// that every loop closed cleanly and every handle box was freed. Built together with UVLoop's
// sources under AddressSanitizer, whose LeakSanitizer reports anything still allocated at exit.
// It uses threads and semaphores only (no Swift concurrency), so valgrind can run it as well.
import Dispatch
import Glibc
import Synchronization

@main
struct UVLoopLeakCheck {
    static func main() throws {
        let thread = try LoopThread(name: "leakcheck")
        let loop = thread.loop
        try tcp(loop)
        try timersAndWork(loop)
        try files(loop)
        try processes(loop)
        try signals(loop)
        try lateHandles(loop)
        try thread.stopAndJoin()
        try reusePortGroup()
        check(loop.liveHandleCount == 0, "loop handle count \(loop.liveHandleCount)")
        check(EventLoop.liveHandleCount == 0, "process handle count \(EventLoop.liveHandleCount)")
        print("UVLoop leak check: all scenarios done, every loop closed, 0 handle boxes live")
    }

    static func check(_ condition: Bool, _ message: String) {
        if !condition {
            print("UVLoop leak check FAILED: \(message)")
            exit(1)
        }
    }

    static func wait(_ semaphore: DispatchSemaphore, _ what: String) {
        check(semaphore.wait(timeout: .now() + 20) == .success, "timed out: \(what)")
    }

    // MARK: TCP

    static func tcp(_ loop: EventLoop) throws {
        let port = try loop.executeAndWait {
            try TCPListener.listen(on: loop, host: "127.0.0.1", port: 0) { connection in
                connection.startReading(
                    onData: { bytes in
                        if bytes.first == UInt8(ascii: "B") {
                            connection.write(WriteBuffer([UInt8](repeating: 7, count: 8 << 20))) { _ in connection.close() }
                        } else {
                            connection.write(WriteBuffer([UInt8](bytes)))
                        }
                    }, onEnd: { _ in connection.close() })
            }.localAddress.port
        }
        // Echo on many connections.
        let clients = (0..<50).map { _ in Client(port: port) }
        for client in clients { client.send(Array("hello".utf8)) }
        for client in clients { check(client.receive(5) == Array("hello".utf8), "echo") }
        // A big write with backpressure.
        let big = Client(port: port)
        big.send(Array("B".utf8))
        check(big.drain() == 8 << 20, "big write")
        // A peer that resets while writes are queued.
        let reset = Client(port: port)
        reset.send(Array("B".utf8))
        reset.resetOnClose()
        _ = consume reset
        // Loop-to-loop connect, and a refused connect.
        let connected = DispatchSemaphore(value: 0)
        loop.execute {
            TCPConnection.connect(on: loop, host: "127.0.0.1", port: port) { result in
                guard case .success(let connection) = result else {
                    connected.signal()
                    return
                }
                connection.startReading(
                    onData: { _ in
                        connection.close()
                        _ = connected.signal()
                    }, onEnd: { _ in })
                connection.write(WriteBuffer(string: "ping"))
            }
        }
        wait(connected, "connect")
        let refused = DispatchSemaphore(value: 0)
        loop.execute {
            TCPConnection.connect(on: loop, host: "127.0.0.1", port: 1) { _ in refused.signal() }
        }
        wait(refused, "refused connect")
        // Writes and a file range after close are cancelled.
        try loop.executeAndWait {
            TCPConnection.connect(on: loop, host: "127.0.0.1", port: port) { result in
                guard case .success(let connection) = result else { return }
                connection.close()
                connection.write(WriteBuffer(string: "late")) { _ in }
                connection.sendFile(descriptor: 0, offset: 0, count: 1) { _ in }
            }
        }
        for client in clients { client.close() }
        big.close()
    }

    // MARK: Timers and thread-pool work

    static func timersAndWork(_ loop: EventLoop) throws {
        let done = DispatchSemaphore(value: 0)
        loop.execute {
            LoopTimer.once(on: loop, after: .milliseconds(5)) { done.signal() }
            let repeating = LoopTimer(loop: loop)
            var ticks = 0
            repeating.start(after: .milliseconds(1), repeating: .milliseconds(1)) {
                ticks += 1
                if ticks == 3 { repeating.close() }
            }
            LoopTimer(loop: loop).start(after: .seconds(100)) {}  // left open: closed by stop()
            for index in 0..<100 {
                loop.runBlocking({ index }, completion: { _ in })
            }
            loop.runBlocking({ throw UVError.einval }, completion: { (_: Result<Int, any Error>) in })
        }
        wait(done, "timer")
    }

    // MARK: Files and sendfile

    static func files(_ loop: EventLoop) throws {
        var template = Array("/tmp/uvloop-leakcheck-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        let path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        defer { unlink(path) }
        let contents = [UInt8](repeating: 42, count: 4 << 20)
        _ = contents.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)

        let done = DispatchSemaphore(value: 0)
        loop.execute {
            FileReader.open(path: "/nonexistent/leakcheck", on: loop) { _ in }
            FileReader.open(path: path, on: loop) { opened in
                guard case .success(let reader) = opened else {
                    done.signal()
                    return
                }
                reader.status { _ in
                    reader.read(offset: 100, count: 1000) { _ in
                        reader.read(offset: 10 << 20, count: 10) { _ in
                            reader.close { _ in done.signal() }
                        }
                    }
                }
            }
        }
        wait(done, "file reads")
        // sendfile: a whole range to a slow reader, and a close while a step runs.
        let port = try loop.executeAndWait {
            try TCPListener.listen(on: loop, host: "127.0.0.1", port: 0) { connection in
                FileReader.open(path: path, on: loop) { opened in
                    guard case .success(let reader) = opened else { return connection.close() }
                    connection.write(WriteBuffer(string: "head"))
                    connection.sendFile(descriptor: reader.descriptor, offset: 0, count: 4 << 20) { _ in reader.close() }
                    connection.write(WriteBuffer(string: "tail")) { _ in connection.close() }
                    if connection.remoteAddress == nil { connection.close() }
                }
            }.localAddress.port
        }
        let client = Client(port: port)
        usleep(50_000)
        check(client.drain() == (4 << 20) + 8, "sendfile bytes")
        let closing = Client(port: port)
        closing.resetOnClose()
        _ = consume closing
        usleep(50_000)
    }

    // MARK: Processes

    static func processes(_ loop: EventLoop) throws {
        let exited = DispatchSemaphore(value: 0)
        try loop.executeAndWait {
            _ = try ChildProcess.spawn(
                on: loop, ProcessOptions(executable: "/bin/sh", arguments: ["-c", "echo out; echo err >&2; exit 2"]),
                onOutput: { _, _ in }, onExit: { _ in exited.signal() })
            do {
                _ = try ChildProcess.spawn(on: loop, ProcessOptions(executable: "/nonexistent/tool"), onOutput: { _, _ in }, onExit: { _ in })
            } catch {}
        }
        wait(exited, "child exit")
        let killed = DispatchSemaphore(value: 0)
        let child = try loop.executeAndWait {
            try ChildProcess.spawn(
                on: loop, ProcessOptions(executable: "/bin/sh", arguments: ["-c", "sleep 100 & sleep 100"]),
                onOutput: { _, _ in }, onExit: { _ in killed.signal() })
        }
        usleep(50_000)
        try loop.executeAndWait { try child.kill(SIGKILL) }
        wait(killed, "killed child")
        // Still running when the loop stops: released by stop(), then killed here.
        let pid = try loop.executeAndWait {
            try ChildProcess.spawn(on: loop, ProcessOptions(executable: "/bin/sleep", arguments: ["100"]), onOutput: { _, _ in }, onExit: { _ in })
                .pid
        }
        atExitKill.withLock { $0.append(pid) }
    }

    static let atExitKill = Mutex<[Int32]>([])

    // MARK: Signals

    static func signals(_ loop: EventLoop) throws {
        let received = DispatchSemaphore(value: 0)
        try loop.executeAndWait {
            _ = try SignalWatcher(loop: loop, signal: SIGHUP) { _ in received.signal() }
        }
        kill(getpid(), SIGHUP)
        wait(received, "SIGHUP")
    }

    // MARK: Handles opened during shutdown

    static func lateHandles(_ loop: EventLoop) throws {
        try loop.executeAndWait {
            let timer = LoopTimer(loop: loop)
            timer.start(after: .seconds(100)) {}
            loop.runBlocking(
                { usleep(50_000) },
                completion: { _ in
                    LoopTimer(loop: loop).start(after: .seconds(100)) {}
                })
        }
        for pid in atExitKill.withLock({ $0 }) { kill(-pid, SIGKILL) }
    }

    // MARK: A group of loops sharing a port

    static func reusePortGroup() throws {
        let group = try EventLoopGroup(loopCount: 2)
        let first = group.loops[0]
        let second = group.loops[1]
        let port = try first.executeAndWait {
            try TCPListener.listen(on: first, host: "127.0.0.1", port: 0) { $0.close() }.localAddress.port
        }
        try second.executeAndWait {
            _ = try TCPListener.listen(on: second, host: "127.0.0.1", port: port) { $0.close() }
        }
        for _ in 0..<10 { _ = Client(port: port).drain() }
        try group.shutdown()
        check(first.liveHandleCount == 0 && second.liveHandleCount == 0, "group handle counts")
    }
}

/// A blocking POSIX client.
final class Client {
    let fd: Int32

    init(port: Int) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        UVLoopLeakCheck.check(status == 0, "connect to \(port)")
    }

    deinit { Glibc.close(fd) }

    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    func receive(_ count: Int) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let received = result[offset...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if received <= 0 { break }
            offset += received
        }
        return Array(result[0..<offset])
    }

    /// Reads until EOF or error; returns the byte count.
    func drain() -> Int {
        var chunk = [UInt8](repeating: 0, count: 256 * 1024)
        var total = 0
        while true {
            let received = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if received <= 0 { return total }
            total += received
        }
    }

    /// Makes the coming close a reset (SO_LINGER 0).
    func resetOnClose() {
        var option = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
    }

    func close() { shutdown(fd, Int32(SHUT_RDWR)) }
}
