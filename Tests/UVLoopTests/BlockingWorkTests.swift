import Glibc
import Testing

@testable import UVLoop

@Suite struct BlockingWorkTests {
    struct WorkFailed: Error, Equatable {}

    @Test func workRunsOffTheLoopAndItsResultArrivesOnTheLoopThread() throws {
        let observed = Locked<(workOnLoop: Bool, completionOnLoop: Bool, sum: Int)?>(nil)
        let done = Signal()
        try withRunningLoop { loop in
            loop.execute {
                let workOnLoop = Locked(true)
                loop.runBlocking(
                    { () -> Int in
                        workOnLoop.update { $0 = loop.isInLoopThread }
                        return (1...100_000).reduce(0, +)
                    },
                    completion: { result in
                        observed.update { $0 = (workOnLoop.value, loop.isInLoopThread, (try? result.get()) ?? -1) }
                        done.fire()
                    })
            }
            #expect(done.wait())
        }
        #expect(observed.value?.workOnLoop == false)
        #expect(observed.value?.completionOnLoop == true)
        #expect(observed.value?.sum == 5_000_050_000)
    }

    @Test func anErrorThrownByTheWorkIsDelivered() throws {
        let outcome = Locked<Result<Int, WorkFailed>?>(nil)
        let done = Signal()
        try withRunningLoop { loop in
            loop.execute {
                loop.runBlocking(
                    { () throws -> Int in throw WorkFailed() },
                    completion: { result in
                        outcome.update { $0 = result.mapError { $0 as? WorkFailed ?? WorkFailed() } }
                        done.fire()
                    })
            }
            #expect(done.wait())
        }
        #expect(outcome.value == .failure(WorkFailed()))
    }

    @Test func manyWorkItemsAllComplete() throws {
        let completed = Locked(0)
        let done = Signal()
        try withRunningLoop { loop in
            loop.execute {
                for index in 0..<200 {
                    loop.runBlocking(
                        { index * 2 },
                        completion: { result in
                            let count = completed.update {
                                $0 += (try? result.get()) == index * 2 ? 1 : 0
                                return $0
                            }
                            if count == 200 { done.fire() }
                        })
                }
            }
            #expect(done.wait())
        }
        #expect(completed.value == 200)
    }

    @Test func stoppingTheLoopWaitsForWorkInFlight() throws {
        let delivered = Locked(false)
        try withRunningLoop { loop in
            try loop.executeAndWait {
                loop.runBlocking(
                    {
                        usleepSeconds(0.05)
                        return 1
                    }, completion: { _ in delivered.update { $0 = true } })
            }
        }
        #expect(delivered.value)
    }
}

private func usleepSeconds(_ seconds: Double) { usleep(UInt32(seconds * 1_000_000)) }
