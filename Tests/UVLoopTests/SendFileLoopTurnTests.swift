import Dispatch
import Glibc
import Testing

@testable import UVLoop

/// The large-file path of `TCPConnection.sendFile`: sendfile(2) from the loop thread in turns,
/// each started when the socket has room, the thread pool only for pages the page cache lacks.
@Suite struct SendFileLoopTurnTests {
    /// How a file range ended, and which ways it went out.
    struct Outcome: Sendable {
        var error: UVError?
        var loopTurns = 0
        var poolSteps = 0
        var writableWaits = 0
        var copiedChunks = 0
    }

    /// A server on `loop`: a connection that sends "B" gets `head` and the whole file, then is
    /// closed (whatever the outcome, as the edge does); one that sends "S" gets "pong\n" for each
    /// "S", so its round trips show whether the loop is free while a big body is going out.
    private func serve(
        on loop: EventLoop, path: String, fileSize: Int64, head: [UInt8],
        outcome: Locked<Outcome?>, finished: Signal
    ) throws -> Int {
        try loop.executeAndWait {
            try TCPListener.listen(on: loop, host: "127.0.0.1", port: 0) { connection in
                connection.startReading(
                    onData: { bytes in
                        for byte in bytes {
                            if byte == UInt8(ascii: "S") {
                                connection.write(WriteBuffer(string: "pong\n"))
                            } else if byte == UInt8(ascii: "B") {
                                Self.sendBody(
                                    connection, path: path, fileSize: fileSize, head: head,
                                    outcome: outcome, finished: finished)
                            }
                        }
                    }, onEnd: { _ in })
            }.localAddress.port
        }
    }

    private static func sendBody(
        _ connection: TCPConnection, path: String, fileSize: Int64, head: [UInt8],
        outcome: Locked<Outcome?>, finished: Signal
    ) {
        FileReader.open(path: path, on: connection.loop) { opened in
            guard case .success(let reader) = opened else { return connection.close() }
            connection.sendFile(
                after: [WriteBuffer(head)], descriptor: reader.descriptor, offset: 0,
                count: fileSize
            ) { error in
                outcome.update {
                    $0 = Outcome(
                        error: error, loopTurns: connection.sendFileInlineCalls,
                        poolSteps: connection.sendFileStepsOnThreadPool,
                        writableWaits: connection.sendFileWritableWaits,
                        copiedChunks: connection.sendFileChunksCopied)
                }
                reader.close()
                connection.close()
                finished.fire()
            }
        }
    }

    @Test func aSlowReaderOfFiftyMegabytesLeavesTheLoopFreeForAnotherConnection() throws {
        let head = Pattern.bytes(offset: 0, count: 250)
        let fileSize = 50 << 20
        let file = try TemporaryFile(contents: Pattern.bytes(offset: head.count, count: fileSize))
        let outcome = Locked<Outcome?>(nil)
        let finished = Signal()
        let roundTrips = Locked<[Double]>([])
        try withRunningLoop { loop in
            let port = try serve(
                on: loop, path: file.path, fileSize: Int64(fileSize), head: head,
                outcome: outcome, finished: finished)
            let big = try TestSocket(connectingToPort: port)
            try big.send("B")
            // Another connection pings the same loop all through the download.
            let pingsDone = Signal()
            let downloading = Locked(true)
            DispatchQueue.global().async {
                defer { pingsDone.fire() }
                guard let pinger = try? TestSocket(connectingToPort: port) else { return }
                while downloading.value {
                    let start = DispatchTime.now().uptimeNanoseconds
                    guard (try? pinger.send("S")) != nil, (try? pinger.receive(exactly: 5)) == Array("pong\n".utf8)
                    else { return }
                    let milliseconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
                    roundTrips.update { $0.append(milliseconds) }
                    usleep(10_000)
                }
            }
            // Slow: 64 KiB at a time with a pause, so the server meets a full socket again and again.
            var checker = Pattern.Checker()
            var received = 0
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            while true {
                let count = buffer.withUnsafeMutableBytes { recv(big.fd, $0.baseAddress, $0.count, 0) }
                guard count > 0 else {
                    #expect(count == 0, "the body ends with a clean close, errno \(errno)")
                    break
                }
                buffer.withUnsafeBytes { checker.check(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
                received += count
                if received % (1 << 20) < count { usleep(20_000) }
            }
            downloading.update { $0 = false }
            #expect(pingsDone.wait())
            #expect(received == head.count + fileSize)
            #expect(checker.mismatchAt == nil)
            #expect(finished.wait())
        }
        let result = try #require(outcome.value)
        #expect(result.error == nil)
        #expect(result.poolSteps == 0, "a body in the page cache never goes through the thread pool")
        #expect(result.copiedChunks == 0)
        #expect(result.writableWaits > 10, "many writability events: \(result.writableWaits)")
        #expect(result.loopTurns > 10)
        let trips = roundTrips.value.sorted()
        #expect(trips.count > 20, "the other connection was answered during the download")
        // Bounded loosely: the machine may be loaded; a loop held by the big body would take seconds.
        #expect((trips.last ?? .infinity) < 1000, "slowest round trip \(trips.last ?? 0) ms of \(trips.count)")
        print(
            "round trips during the 50 MiB download: \(trips.count), median \(trips[trips.count / 2]) ms, max \(trips.last ?? 0) ms; writable waits \(result.writableWaits), loop turns \(result.loopTurns)"
        )
    }

    @Test func aClientThatClosesMidBodyEndsTheRangeWithAnErrorAndLeaksNothing() throws {
        let fileSize = 50 << 20
        let file = try TemporaryFile(contents: Pattern.bytes(offset: 0, count: fileSize))
        let outcome = Locked<Outcome?>(nil)
        let finished = Signal()
        try withRunningLoop { loop in
            let port = try serve(
                on: loop, path: file.path, fileSize: Int64(fileSize), head: [],
                outcome: outcome, finished: finished)
            do {
                let client = try TestSocket(connectingToPort: port)
                try client.send("B")
                _ = try client.receive(exactly: 1 << 20)
                // The socket closes here with unread bytes: the kernel answers with a reset.
            }
            #expect(finished.wait(), "the range ended after the client went away")
        }
        let result = try #require(outcome.value)
        let name = result.error?.name ?? "none"
        #expect(result.error == .econnreset || result.error == .epipe, "ended with \(name)")
    }

    @Test func aFileTruncatedWhileItIsSentEndsTheRangeWithEOFInsteadOfHanging() throws {
        let fileSize = 40 << 20
        let file = try TemporaryFile(contents: Pattern.bytes(offset: 0, count: fileSize))
        let outcome = Locked<Outcome?>(nil)
        let finished = Signal()
        try withRunningLoop { loop in
            let port = try serve(
                on: loop, path: file.path, fileSize: Int64(fileSize), head: [],
                outcome: outcome, finished: finished)
            let client = try TestSocket(connectingToPort: port)
            try client.send("B")
            var checker = Pattern.Checker()
            let first = try client.receive(exactly: 1 << 20)
            first.withUnsafeBytes { checker.check($0) }
            #expect(truncate(file.path, 8 << 20) == 0)
            // The 10 s receive timeout turns a hang into a failure here.
            let rest = try client.receiveUntilEOF { checker.check($0) }
            #expect(first.count + rest < fileSize)
            #expect(first.count + rest >= 8 << 20)
            #expect(checker.mismatchAt == nil)
            #expect(finished.wait())
        }
        #expect(outcome.value?.error == .eof)
    }

    @Test func pagesNotInThePageCacheAreSentFromTheThreadPool() throws {
        let head = Pattern.bytes(offset: 0, count: 100)
        let fileSize = 12 << 20
        let file = try TemporaryFile(contents: Pattern.bytes(offset: head.count, count: fileSize))
        // Written back and dropped from the page cache: a loop thread must not read it.
        let descriptor = open(file.path, O_RDONLY)
        #expect(fdatasync(descriptor) == 0)
        #expect(posix_fadvise(descriptor, 0, 0, POSIX_FADV_DONTNEED) == 0)
        // (Not checked here with `pageCacheHolds`: a RWF_NOWAIT miss starts read-ahead, which
        // would bring the pages back before the server looks.)
        close(descriptor)
        let outcome = Locked<Outcome?>(nil)
        let finished = Signal()
        try withRunningLoop { loop in
            let port = try serve(
                on: loop, path: file.path, fileSize: Int64(fileSize), head: head,
                outcome: outcome, finished: finished)
            let client = try TestSocket(connectingToPort: port)
            try client.send("B")
            var checker = Pattern.Checker()
            let received = try client.receiveUntilEOF { checker.check($0) }
            #expect(received == head.count + fileSize)
            #expect(checker.mismatchAt == nil)
            #expect(finished.wait())
        }
        let result = try #require(outcome.value)
        #expect(result.error == nil)
        #expect(result.poolSteps > 0, "the cold start of the file went to the thread pool (or the kernel kept the pages)")
    }

    @Test func aDescriptorThatIsNotAFileFailsTheRangeWithoutACrash() throws {
        let directory = open("/", O_RDONLY | O_DIRECTORY)
        defer { close(directory) }
        #expect(!TCPConnection.pageCacheHolds(directory, at: 0))
        let outcome = Locked<UVError??>(nil)
        try withRunningLoop { loop in
            let port = try loop.executeAndWait {
                try TCPListener.listen(on: loop, host: "127.0.0.1", port: 0) { connection in
                    connection.sendFile(
                        after: [WriteBuffer(string: "head")], descriptor: directory, offset: 0,
                        count: 4 << 20
                    ) { error in
                        outcome.update { $0 = .some(error) }
                        connection.close()
                    }
                }.localAddress.port
            }
            let client = try TestSocket(connectingToPort: port)
            _ = client.waitForClose()
        }
        let error = try #require(outcome.value)
        #expect(error != nil, "sendfile from a directory is an error, not an empty success")
    }
}
