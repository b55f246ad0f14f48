import Glibc
import Testing

@testable import UVLoop

@Suite struct SendFileTests {
    /// Serves `head`, the file's bytes `range`, and `tail` on each connection, then closes;
    /// reports the completion error of the file range and how many chunks needed the fallback.
    private func serve(
        on loop: EventLoop, path: String, head: [UInt8], range: (offset: Int64, count: Int64), tail: [UInt8],
        outcome: Locked<(error: UVError?, copiedChunks: Int)?>, inlineCalls: Locked<Int>? = nil,
        headWithTheFile: Bool = false, before: [UInt8] = []
    ) throws -> Int {
        try loop.executeAndWait {
            try TCPListener.listen(on: loop, host: "127.0.0.1", port: 0) { connection in
                FileReader.open(path: path, on: loop) { opened in
                    guard case .success(let reader) = opened else { return connection.close() }
                    let done: (UVError?) -> Void = { error in
                        outcome.update { $0 = (error, connection.sendFileChunksCopied) }
                        inlineCalls?.update { $0 = connection.sendFileInlineCalls }
                        reader.close()
                    }
                    if !before.isEmpty { connection.write(WriteBuffer(before)) }
                    if headWithTheFile {
                        connection.sendFile(
                            after: [WriteBuffer(head)], descriptor: reader.descriptor,
                            offset: range.offset, count: range.count, completion: done)
                    } else {
                        connection.write(WriteBuffer(head))
                        connection.sendFile(
                            descriptor: reader.descriptor, offset: range.offset, count: range.count,
                            completion: done)
                    }
                    connection.write(WriteBuffer(tail)) { _ in connection.close() }
                }
            }.localAddress.port
        }
    }

    @Test func twentyMegabytesFromAFileArriveIntactBetweenTheWritesAroundThem() throws {
        let head = Pattern.bytes(offset: 0, count: 1000)
        let fileSize = 20 * 1024 * 1024
        let file = try TemporaryFile(contents: Pattern.bytes(offset: head.count, count: fileSize))
        let tail = Pattern.bytes(offset: head.count + fileSize, count: 777)
        let outcome = Locked<(error: UVError?, copiedChunks: Int)?>(nil)
        try withRunningLoop { loop in
            let port = try serve(on: loop, path: file.path, head: head, range: (0, Int64(fileSize)), tail: tail, outcome: outcome)
            let client = try TestSocket(connectingToPort: port)
            usleep(100_000)  // let the socket fill, so sendfile meets EAGAIN
            var checker = Pattern.Checker()
            let received = try client.receiveUntilEOF { checker.check($0) }
            #expect(received == head.count + fileSize + tail.count)
            #expect(checker.mismatchAt == nil)
        }
        #expect(outcome.value?.error == nil)
        #expect(outcome.value?.copiedChunks == 0, "a full socket is waited for, not fed copied chunks")
    }

    /// With `headWithTheFile`, the head goes to the kernel with MSG_MORE right before the range.
    @Test(arguments: [false, true])
    func aShortRangeGoesOutFromTheLoopThreadAndSurvivesAFullSocket(headWithTheFile: Bool) throws {
        let head = Pattern.bytes(offset: 0, count: 300)
        let fileSize = 1 << 20
        let file = try TemporaryFile(contents: Pattern.bytes(offset: head.count, count: fileSize))
        let tail = Pattern.bytes(offset: head.count + fileSize, count: 55)
        let outcome = Locked<(error: UVError?, copiedChunks: Int)?>(nil)
        let inlineCalls = Locked(0)
        try withRunningLoop { loop in
            let port = try serve(
                on: loop, path: file.path, head: head, range: (0, Int64(fileSize)), tail: tail,
                outcome: outcome, inlineCalls: inlineCalls, headWithTheFile: headWithTheFile)
            let client = try TestSocket(connectingToPort: port)
            usleep(100_000)  // not reading yet: the socket may fill before the range is out
            var checker = Pattern.Checker()
            let received = try client.receiveUntilEOF { checker.check($0) }
            #expect(received == head.count + fileSize + tail.count)
            #expect(checker.mismatchAt == nil)
        }
        #expect(outcome.value?.error == nil)
        #expect(inlineCalls.value > 0, "sent by sendfile(2) on the loop thread")
    }

    @Test func aHeadSentWithItsFileWaitsBehindAnEarlierQueuedWrite() throws {
        // 4 MB written first fill the socket and queue: the head and range must not overtake them.
        let before = Pattern.bytes(offset: 0, count: 4 << 20)
        let head = Pattern.bytes(offset: before.count, count: 200)
        let fileSize = 300_000
        let file = try TemporaryFile(contents: Pattern.bytes(offset: before.count + head.count, count: fileSize))
        let tail = Pattern.bytes(offset: before.count + head.count + fileSize, count: 10)
        let outcome = Locked<(error: UVError?, copiedChunks: Int)?>(nil)
        try withRunningLoop { loop in
            let port = try serve(
                on: loop, path: file.path, head: head, range: (0, Int64(fileSize)), tail: tail,
                outcome: outcome, headWithTheFile: true, before: before)
            let client = try TestSocket(connectingToPort: port)
            usleep(50_000)
            var checker = Pattern.Checker()
            let received = try client.receiveUntilEOF { checker.check($0) }
            #expect(received == before.count + head.count + fileSize + tail.count)
            #expect(checker.mismatchAt == nil)
        }
        #expect(outcome.value?.error == nil)
    }

    @Test func aRangeInsideTheFileSendsExactlyThoseBytes() throws {
        let contents = Pattern.bytes(offset: 0, count: 300_000)
        let file = try TemporaryFile(contents: contents)
        let outcome = Locked<(error: UVError?, copiedChunks: Int)?>(nil)
        try withRunningLoop { loop in
            let port = try serve(on: loop, path: file.path, head: [], range: (123_456, 100_000), tail: [], outcome: outcome)
            let client = try TestSocket(connectingToPort: port)
            var received: [UInt8] = []
            try client.receiveUntilEOF { received += $0 }
            #expect(received == Array(contents[123_456..<223_456]))
        }
        #expect(outcome.value?.error == nil)
    }

    @Test func aRangePastTheEndOfTheFileCompletesWithEOF() throws {
        let file = try TemporaryFile(contents: Pattern.bytes(offset: 0, count: 5000))
        let outcome = Locked<(error: UVError?, copiedChunks: Int)?>(nil)
        try withRunningLoop { loop in
            let port = try serve(on: loop, path: file.path, head: [], range: (0, 9000), tail: Array("tail".utf8), outcome: outcome)
            let client = try TestSocket(connectingToPort: port)
            var received: [UInt8] = []
            try client.receiveUntilEOF { received += $0 }
            // The 5000 bytes the file has, then the write queued after the range.
            #expect(received.count == 5004)
        }
        #expect(outcome.value?.error == .eof)
    }

    @Test func closingDuringASendFileCancelsItAndLeaksNothing() throws {
        let file = try TemporaryFile(contents: Pattern.bytes(offset: 0, count: 8 * 1024 * 1024))
        let results = Locked([String]())
        let done = Signal()
        try withRunningLoop { loop in
            let port = try loop.executeAndWait {
                try TCPListener.listen(on: loop, host: "127.0.0.1", port: 0) { connection in
                    FileReader.open(path: file.path, on: loop) { opened in
                        guard case .success(let reader) = opened else { return connection.close() }
                        connection.sendFile(descriptor: reader.descriptor, offset: 0, count: 8 * 1024 * 1024) { error in
                            results.update { $0.append("file: \(error.map(\.name) ?? "ok")") }
                        }
                        connection.write(WriteBuffer(string: "after")) { error in
                            results.update { $0.append("write: \(error.map(\.name) ?? "ok")") }
                        }
                        connection.onClose = {
                            reader.close()
                            done.fire()
                        }
                        connection.close()
                    }
                }.localAddress.port
            }
            let client = try TestSocket(connectingToPort: port)
            #expect(done.wait())
            _ = client.waitForClose()
        }
        #expect(results.value == ["write: ECANCELED", "file: ECANCELED"] || results.value == ["file: ECANCELED", "write: ECANCELED"])
    }
}
