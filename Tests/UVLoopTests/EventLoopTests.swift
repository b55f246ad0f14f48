import Dispatch
import Glibc
import Testing

@testable import UVLoop

@Suite struct EventLoopTests {
    @Test func closuresExecutedFromEightThreadsEachRunExactlyOnceOnTheLoopThread() throws {
        try withRunningLoop { loop in
            let threads = 8
            let perThread = 1000
            let runs = Locked([Int](repeating: 0, count: threads * perThread))
            let offLoop = Locked(0)
            DispatchQueue.concurrentPerform(iterations: threads) { thread in
                for index in 0..<perThread {
                    loop.execute {
                        if !loop.isInLoopThread { offLoop.update { $0 += 1 } }
                        runs.update { $0[thread * perThread + index] += 1 }
                    }
                }
            }
            // Closures run in submission order, so this one runs after all of them.
            try loop.executeAndWait {}
            #expect(runs.value.allSatisfy { $0 == 1 })
            #expect(offLoop.value == 0)
        }
    }

    @Test func closuresFromOneThreadRunInSubmissionOrder() throws {
        try withRunningLoop { loop in
            let order = Locked([Int]())
            for index in 0..<500 { loop.execute { order.update { $0.append(index) } } }
            try loop.executeAndWait {}
            #expect(order.value == Array(0..<500))
        }
    }

    @Test func isInLoopThreadIsFalseElsewhere() throws {
        try withRunningLoop { loop in
            #expect(!loop.isInLoopThread)
            let onLoop = try loop.executeAndWait { loop.isInLoopThread }
            #expect(onLoop)
        }
    }

    @Test func stopClosesEveryOpenHandleAndTheLoopClosesCleanly() throws {
        let thread = try LoopThread()
        let loop = thread.loop
        let port = try loop.executeAndWait { () -> Int in
            let listener = try TCPListener.listen(on: loop, host: "127.0.0.1", port: 0) { connection in
                connection.startReading(onData: { _ in }, onEnd: { _ in })
            }
            LoopTimer(loop: loop).start(after: .seconds(100), repeating: .seconds(100)) {}
            return listener.localAddress.port
        }
        let client = try TestSocket(connectingToPort: port)
        try client.send("x")
        #expect(try loop.executeAndWait { loop.liveHandleCount } >= 3)
        try thread.stopAndJoin()
        #expect(loop.liveHandleCount == 0)
        // The server side was closed by stop(): the client sees EOF, or a reset when the close
        // came before the loop had read the byte.
        #expect([0, ECONNRESET].contains(client.waitForClose()))
        #expect(loop.execute {} == false, "a stopped loop refuses work")
        #expect(throws: UVError.ecanceled) { try loop.executeAndWait {} }
    }

    @Test func aGroupStartsLoopsOnTheirOwnThreadsAndShutsThemDown() throws {
        let group = try EventLoopGroup(loopCount: 3)
        let loops = group.loops
        #expect(Set(loops.map { ObjectIdentifier($0) }).count == 3)
        for loop in loops { #expect(try loop.executeAndWait { loop.isInLoopThread }) }
        let picked = (0..<6).map { _ in ObjectIdentifier(group.next()) }
        #expect(picked[0] == picked[3] && picked[1] == picked[4] && picked[0] != picked[1])
        try group.shutdown()
        for loop in loops { #expect(loop.liveHandleCount == 0) }
    }

    @Test func handlesOpenedByCallbacksDuringShutdownAreClosedToo() throws {
        let thread = try LoopThread()
        let loop = thread.loop
        let opened = Locked(0)
        let port = try loop.executeAndWait { () -> Int in
            try TCPListener.listen(on: loop, host: "127.0.0.1", port: 0) { connection in
                // Runs from the close callback during stop(): opens a long timer then.
                connection.onClose = {
                    LoopTimer(loop: loop).start(after: .seconds(100)) {}
                    opened.update { $0 += 1 }
                }
            }.localAddress.port
        }
        let client = try TestSocket(connectingToPort: port)
        // A thread-pool job whose completion, during shutdown, opens another timer.
        try loop.executeAndWait {
            loop.runBlocking(
                { usleep(100_000) },
                completion: { _ in
                    LoopTimer(loop: loop).start(after: .seconds(100)) {}
                    opened.update { $0 += 1 }
                })
        }
        usleep(20_000)  // let the accept happen
        // Without the late-handle sweep, stop would wait for the 100 s timers: fail, don't hang.
        let stopped = Signal()
        DispatchQueue.global().async {
            try? thread.stopAndJoin()
            stopped.fire()
        }
        try #require(stopped.wait(seconds: 5))
        #expect(opened.value == 2)
        #expect(loop.liveHandleCount == 0)
        _ = client
    }
}
