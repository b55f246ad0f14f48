import Glibc
import Testing
import UVLoop

@Suite struct OpenFileLimitTests {
    /// Runs in a child process (an exit test): lowering the soft limit there cannot starve the
    /// other tests of descriptors.
    @Test func aLoweredSoftLimitIsRaisedToTheHardOne() async {
        await #expect(processExitsWith: .success) {
            var limit = rlimit()
            guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_max > 256 else { exit(2) }
            let hard = limit.rlim_max
            limit.rlim_cur = 256
            guard setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { exit(3) }
            let reported = OpenFileLimit.raiseToHardLimit()
            guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { exit(4) }
            exit(limit.rlim_cur == hard && reported == UInt64(hard) ? 0 : 1)
        }
    }
}
