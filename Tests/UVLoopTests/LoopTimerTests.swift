import Testing

@testable import UVLoop

@Suite struct LoopTimerTests {
    @Test func oneShotTimersFireInDueOrderAndACancelledTimerNeverFires() throws {
        let fired = Locked([String]())
        let last = Signal()
        try withRunningLoop { loop in
            loop.execute {
                LoopTimer.once(on: loop, after: .milliseconds(40)) {
                    fired.update { $0.append("40ms") }
                    last.fire()
                }
                LoopTimer.once(on: loop, after: .milliseconds(10)) { fired.update { $0.append("10ms") } }
                LoopTimer.once(on: loop, after: .milliseconds(25)) { fired.update { $0.append("25ms") } }
                LoopTimer.once(on: loop, after: .zero) { fired.update { $0.append("0ms") } }
                let cancelled = LoopTimer(loop: loop)
                cancelled.start(after: .milliseconds(5)) { fired.update { $0.append("cancelled") } }
                cancelled.cancel()
                #expect(!cancelled.isActive)
                cancelled.close()
            }
            #expect(last.wait())
        }
        #expect(fired.value == ["0ms", "10ms", "25ms", "40ms"])
    }

    @Test func aRepeatingTimerFiresUntilCancelledAndCanBeRestarted() throws {
        let ticks = Locked(0)
        let restartedFired = Signal()
        try withRunningLoop { loop in
            loop.execute {
                let timer = LoopTimer(loop: loop)
                timer.start(after: .milliseconds(1), repeating: .milliseconds(2)) {
                    let count = ticks.update {
                        $0 += 1
                        return $0
                    }
                    if count == 3 {
                        timer.cancel()
                        // Restart as a one-shot from inside its own callback.
                        timer.start(after: .milliseconds(1)) {
                            restartedFired.fire()
                            timer.close()
                        }
                    }
                }
            }
            #expect(restartedFired.wait())
        }
        #expect(ticks.value == 3)
    }

    @Test func anOpenTimerIsClosedByLoopStop() throws {
        let fired = Locked(false)
        try withRunningLoop { loop in
            try loop.executeAndWait {
                LoopTimer(loop: loop).start(after: .seconds(60)) { fired.update { $0 = true } }
            }
        }
        #expect(fired.value == false)
    }

    @Test(arguments: [
        (Duration.zero, UInt64(0)), (.milliseconds(1), 1), (.microseconds(1500), 2), (.seconds(2), 2000),
        (.milliseconds(-5), 0), (.seconds(Int64.max), UInt64.max),
    ])
    func durationsRoundUpToWholeMilliseconds(duration: Duration, milliseconds: UInt64) {
        #expect(LoopTimer.milliseconds(duration) == milliseconds)
    }
}
