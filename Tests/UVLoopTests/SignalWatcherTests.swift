import Glibc
import Testing

@testable import UVLoop

@Suite struct SignalWatcherTests {
    @Test func aHangupSentToThisProcessReachesTheWatcherOnTheLoopThread() throws {
        let received = Locked<(signal: Int32, onLoop: Bool)?>(nil)
        let done = Signal()
        try withRunningLoop { loop in
            try loop.executeAndWait {
                let watcher = try SignalWatcher(loop: loop, signal: SIGHUP) { signal in
                    received.update { $0 = (signal, loop.isInLoopThread) }
                    done.fire()
                }
                _ = watcher
            }
            kill(getpid(), SIGHUP)
            #expect(done.wait())
        }
        #expect(received.value?.signal == SIGHUP)
        #expect(received.value?.onLoop == true)
    }

    @Test func aSignalThatCannotBeCaughtIsRejected() throws {
        try withRunningLoop { loop in
            #expect(throws: UVError.einval) {
                try loop.executeAndWait { _ = try SignalWatcher(loop: loop, signal: SIGKILL) { _ in } }
            }
        }
    }
}
