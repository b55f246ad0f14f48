import Glibc
import Testing

@testable import UVLoop

/// Starts an echo server on `loop` and returns its port.
private func startEchoServer(on loop: EventLoop) throws -> Int {
    try loop.executeAndWait {
        try TCPListener.listen(on: loop, host: "127.0.0.1", port: 0) { connection in
            try? connection.setNoDelay()
            connection.startReading(
                onData: { bytes in connection.write(WriteBuffer(Array(bytes))) },
                onEnd: { _ in connection.close() })
        }.localAddress.port
    }
}

@Suite struct TCPConnectionTests {
    @Test func bytesSentToAnEchoServerComeBackUnchanged() throws {
        try withRunningLoop { loop in
            let port = try startEchoServer(on: loop)
            let client = try TestSocket(connectingToPort: port)
            try client.send("hello, wharf")
            #expect(try client.receive(exactly: 12) == Array("hello, wharf".utf8))
            let big = Pattern.bytes(offset: 0, count: 300_000)
            try client.send(big)
            #expect(try client.receive(exactly: big.count) == big)
            client.shutdownWrite()
            #expect(try client.receiveUntilEOF() == 0)
        }
    }

    @Test func twoHundredConnectionsAreServedAtOnce() throws {
        try withRunningLoop { loop in
            let port = try startEchoServer(on: loop)
            let clients = try (0..<200).map { _ in try TestSocket(connectingToPort: port) }
            for (index, client) in clients.enumerated() { try client.send("client \(index);") }
            for (index, client) in clients.enumerated() {
                let expected = Array("client \(index);".utf8)
                #expect(try client.receive(exactly: expected.count) == expected)
            }
        }
    }

    @Test func fiftyMegabytesWrittenAtOnceArriveIntactWithBackpressure() throws {
        let size = 50 * 1024 * 1024
        let body = Pattern.bytes(offset: 0, count: size)
        let queuedAfterWrite = Locked(0)
        let writeResult = Locked<UVError??>(.none)
        try withRunningLoop { loop in
            let port = try loop.executeAndWait {
                try TCPListener.listen(on: loop, host: "127.0.0.1", port: 0) { connection in
                    connection.write(WriteBuffer(body)) { error in
                        writeResult.update { $0 = .some(error) }
                        connection.close()
                    }
                    queuedAfterWrite.update { $0 = connection.writeQueueSize }
                }.localAddress.port
            }
            let client = try TestSocket(connectingToPort: port)
            var checker = Pattern.Checker()
            let received = try client.receiveUntilEOF { checker.check($0) }
            #expect(received == size)
            #expect(checker.mismatchAt == nil)
        }
        #expect(queuedAfterWrite.value > 0, "the socket could not take 50 MB at once, so the rest was queued")
        #expect(writeResult.value == .some(nil))
    }

    @Test func writesStayInOrderWhenImmediateAndQueuedWritesMix() throws {
        let counters = Locked((immediate: 0, queued: 0))
        let totalBytes = Locked(0)
        try withRunningLoop { loop in
            let port = try loop.executeAndWait {
                try TCPListener.listen(on: loop, host: "127.0.0.1", port: 0) { connection in
                    var offset = 0
                    // Three rounds: small writes (immediate), one 6 MB write (fills the socket,
                    // queued), small writes while it is queued; the next round starts when the
                    // round's last write completed, so the queue is empty and try_write is used again.
                    func round(_ number: Int) {
                        guard number < 3 else {
                            counters.update { $0 = (connection.bytesWrittenImmediately, connection.bytesQueued) }
                            totalBytes.update { $0 = offset }
                            connection.close()
                            return
                        }
                        let sizes = Array(repeating: 17, count: 10) + [6 * 1024 * 1024] + Array(repeating: 29, count: 10)
                        for (index, size) in sizes.enumerated() {
                            let chunk = Pattern.bytes(offset: offset, count: size)
                            offset += size
                            let isLast = index == sizes.count - 1
                            connection.write(WriteBuffer(chunk)) { error in
                                if isLast && error == nil { round(number + 1) }
                            }
                        }
                    }
                    round(0)
                }.localAddress.port
            }
            let client = try TestSocket(connectingToPort: port)
            usleep(50_000)  // let the first big write fill the socket buffers
            var checker = Pattern.Checker()
            let received = try client.receiveUntilEOF { checker.check($0) }
            #expect(received == totalBytes.value)
            #expect(checker.mismatchAt == nil)
        }
        #expect(counters.value.immediate > 0)
        #expect(counters.value.queued > 0)
    }

    @Test func vectoredWritesOfArraysSlicesAndSharedBytesKeepTheirOrder() throws {
        try withRunningLoop { loop in
            let shared = SharedBytes(copying: Array("shared-".utf8))
            let port = try loop.executeAndWait {
                try TCPListener.listen(on: loop, host: "127.0.0.1", port: 0) { connection in
                    let array = Array("array-".utf8)
                    let slice = Array("xxslice-xx".utf8)[2..<8]
                    connection.write([
                        WriteBuffer(array), WriteBuffer(slice), WriteBuffer(shared, range: 0..<6), WriteBuffer([]), WriteBuffer(string: "!"),
                    ]) { _ in
                        connection.close()
                    }
                }.localAddress.port
            }
            let client = try TestSocket(connectingToPort: port)
            var received: [UInt8] = []
            try client.receiveUntilEOF { received += $0 }
            #expect(String(decoding: received, as: UTF8.self) == "array-slice-shared!")
        }
    }

    @Test func theClientClosingIsReportedAsEndOfFile() throws {
        let ended = Signal()
        let endError = Locked<UVError?>(nil)
        try withRunningLoop { loop in
            let port = try loop.executeAndWait {
                try TCPListener.listen(on: loop, host: "127.0.0.1", port: 0) { connection in
                    connection.startReading(
                        onData: { _ in },
                        onEnd: { error in
                            endError.update { $0 = error }
                            connection.close()
                            ended.fire()
                        })
                }.localAddress.port
            }
            do {
                let client = try TestSocket(connectingToPort: port)
                try client.send("bye")
            }
            #expect(ended.wait())
        }
        #expect(endError.value == .eof)
    }

    @Test func writingAfterCloseAnswersCanceledAndClosingTwiceIsHarmless() throws {
        let results = Locked([UVError?]())
        try withRunningLoop { loop in
            let port = try loop.executeAndWait {
                try TCPListener.listen(on: loop, host: "127.0.0.1", port: 0) { connection in
                    connection.close()
                    connection.close()
                    connection.write(WriteBuffer(string: "late")) { error in results.update { $0.append(error) } }
                    connection.shutdown { error in results.update { $0.append(error) } }
                }.localAddress.port
            }
            let client = try TestSocket(connectingToPort: port)
            #expect(try client.receiveUntilEOF() == 0)
        }
        #expect(results.value == [.ecanceled, .ecanceled])
    }

    @Test func aLoopConnectsToAnotherLoopAndReadsThePeerAddress() throws {
        let reply = Locked([UInt8]())
        let peer = Locked<SocketAddress?>(nil)
        let done = Signal()
        let server = try LoopThread(name: "server")
        let port = try startEchoServer(on: server.loop)
        try withRunningLoop { loop in
            loop.execute {
                TCPConnection.connect(on: loop, host: "127.0.0.1", port: port) { result in
                    guard case .success(let connection) = result else { return done.fire() }
                    peer.update { $0 = connection.remoteAddress }
                    connection.startReading(
                        onData: { bytes in
                            reply.update { $0 += bytes }
                            if reply.value.count == 4 {
                                connection.close()
                                done.fire()
                            }
                        },
                        onEnd: { _ in
                            connection.close()
                            done.fire()
                        })
                    connection.write(WriteBuffer(string: "ping"))
                }
            }
            #expect(done.wait())
        }
        try server.stopAndJoin()
        #expect(server.loop.liveHandleCount == 0)
        #expect(reply.value == Array("ping".utf8))
        #expect(peer.value == SocketAddress(host: "127.0.0.1", port: port))
    }

    @Test func connectingToAClosedPortFailsWithConnectionRefused() throws {
        let outcome = Locked<UVError?>(nil)
        let done = Signal()
        try withRunningLoop { loop in
            // Bind a port and close it again, so nothing listens there.
            let port = try loop.executeAndWait { () -> Int in
                let listener = try TCPListener.listen(on: loop, host: "127.0.0.1", port: 0, reusePort: false) { $0.close() }
                listener.close()
                return listener.localAddress.port
            }
            loop.execute {
                TCPConnection.connect(on: loop, host: "127.0.0.1", port: port) { result in
                    if case .failure(let error) = result { outcome.update { $0 = error } }
                    done.fire()
                }
            }
            #expect(done.wait())
        }
        #expect(outcome.value == .econnrefused)
    }

    @Test(arguments: [true, false])
    func writingToAPeerThatClosedOrResetTheConnectionFailsWithoutKillingTheProcess(reset: Bool) throws {
        let firstError = Locked<UVError?>(nil)
        let failed = Signal()
        try withRunningLoop { loop in
            let accepted = Signal()
            let server = Locked<TCPConnection?>(nil)
            let port = try loop.executeAndWait {
                try TCPListener.listen(on: loop, host: "127.0.0.1", port: 0) { connection in
                    server.update { $0 = connection }
                    accepted.fire()
                }.localAddress.port
            }
            do {
                let client = try TestSocket(connectingToPort: port)
                #expect(accepted.wait())
                // With SO_LINGER 0 the close is a reset, otherwise a FIN (then writes meet EPIPE).
                if reset {
                    var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
                    setsockopt(client.fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
                }
            }
            usleep(20_000)
            loop.execute {
                guard let connection = server.value else { return }
                let chunk = WriteBuffer(Pattern.bytes(offset: 0, count: 64 * 1024))
                // Keep writing until the reset is noticed (bounded).
                func writeAgain(_ remaining: Int) {
                    connection.write(chunk) { error in
                        if let error {
                            if firstError.update({ old in
                                defer { old = old ?? error }
                                return old == nil
                            }) {
                                failed.fire()
                            }
                            connection.close()
                        } else if remaining > 0 {
                            writeAgain(remaining - 1)
                        }
                    }
                }
                writeAgain(200)
            }
            #expect(failed.wait())
        }
        #expect([UVError.epipe, .econnreset].contains(firstError.value))
    }
}
