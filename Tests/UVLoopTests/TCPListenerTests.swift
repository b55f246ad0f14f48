import Glibc
import Testing

@testable import UVLoop

@Suite struct TCPListenerTests {
    @Test func anEphemeralPortIsBoundAndReadable() throws {
        try withRunningLoop { loop in
            let address = try loop.executeAndWait {
                try TCPListener.listen(on: loop, host: "127.0.0.1", port: 0) { $0.close() }.localAddress
            }
            #expect(address.host == "127.0.0.1")
            #expect(address.port > 0)
            _ = try TestSocket(connectingToPort: address.port)
        }
    }

    @Test func twoLoopsListenOnOnePortWithReusePortAndBothAccept() throws {
        let first = try LoopThread(name: "reuseport-a")
        let second = try LoopThread(name: "reuseport-b")
        let acceptedByFirst = Locked(0)
        let acceptedBySecond = Locked(0)
        let port = try first.loop.executeAndWait { [loop = first.loop] in
            try TCPListener.listen(on: loop, host: "127.0.0.1", port: 0) { connection in
                acceptedByFirst.update { $0 += 1 }
                connection.close()
            }.localAddress.port
        }
        try second.loop.executeAndWait { [loop = second.loop] in
            _ = try TCPListener.listen(on: loop, host: "127.0.0.1", port: port) { connection in
                acceptedBySecond.update { $0 += 1 }
                connection.close()
            }
        }
        for _ in 0..<40 {
            let client = try TestSocket(connectingToPort: port)
            // Wait for the server's close, so every accept is counted before we look.
            _ = try client.receiveUntilEOF()
        }
        #expect(acceptedByFirst.value + acceptedBySecond.value == 40)
        #expect(acceptedByFirst.value > 0)
        #expect(acceptedBySecond.value > 0)
        try first.stopAndJoin()
        try second.stopAndJoin()
        #expect(first.loop.liveHandleCount == 0)
        #expect(second.loop.liveHandleCount == 0)
    }

    @Test func aPortTakenWithoutReusePortAnswersAddressInUse() throws {
        try withRunningLoop { loop in
            let matched = try loop.executeAndWait { () -> Bool in
                let first = try TCPListener.listen(on: loop, host: "127.0.0.1", port: 0, reusePort: false) { $0.close() }
                do {
                    _ = try TCPListener.listen(on: loop, host: "127.0.0.1", port: first.localAddress.port, reusePort: false) { $0.close() }
                    return false
                } catch UVError.eaddrinuse {
                    return true
                }
            }
            #expect(matched)
        }
    }

    @Test(arguments: ["example.com", "300.1.1.1", "", "127.0.0.1:80"])
    func aHostThatIsNotANumericAddressIsRejected(host: String) throws {
        try withRunningLoop { loop in
            #expect(throws: UVError.einval) {
                try loop.executeAndWait { _ = try TCPListener.listen(on: loop, host: host, port: 0) { $0.close() } }
            }
        }
    }

    @Test func aPortOutOfRangeIsRejected() throws {
        try withRunningLoop { loop in
            #expect(throws: UVError.einval) {
                try loop.executeAndWait { _ = try TCPListener.listen(on: loop, host: "127.0.0.1", port: 70_000) { $0.close() } }
            }
        }
    }

    @Test func ipv6LoopbackIsSupported() throws {
        try withRunningLoop { loop in
            let address: SocketAddress
            do {
                address = try loop.executeAndWait {
                    try TCPListener.listen(on: loop, host: "::1", port: 0) { $0.close() }.localAddress
                }
            } catch let error as UVError where error == .eaddrnotavail {
                return  // no IPv6 loopback on this machine
            }
            #expect(address.host == "::1")
            #expect(address.port > 0)
            #expect(address.description == "[::1]:\(address.port)")
        }
    }

    @Test func closingTheListenerStopsAcceptingAndFreesItsHandle() throws {
        try withRunningLoop { loop in
            let port = try loop.executeAndWait { () -> Int in
                let listener = try TCPListener.listen(on: loop, host: "127.0.0.1", port: 0, reusePort: false) { $0.close() }
                listener.close()
                listener.close()
                return listener.localAddress.port
            }
            // Wait one loop turn so the close callback has run.
            try loop.executeAndWait {}
            #expect(loop.liveHandleCount == 1, "only the loop's own wake-up handle remains")
            #expect(throws: TestFailure.self) { _ = try TestSocket(connectingToPort: port) }
        }
    }
}
