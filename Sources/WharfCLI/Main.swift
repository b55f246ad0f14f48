import ArgumentParser
import Dispatch
import Foundation
import Glibc

/// Process entry: runs the command on the concurrency runtime.
@main
enum WharfMain {
    static func main() {
        signal(SIGPIPE, SIG_IGN)
        // Everything Wharf writes (databases, blobs, logs, the admin token) is private to its user:
        // builds run as another user and must not read it.
        umask(0o077)
        Task {
            await Wharf.main()
            exit(0)
        }
        dispatchMain()
    }
}

/// SIGINT, SIGTERM, SIGHUP and SIGUSR1 (access-log reopen) for the long-running commands, through a self-pipe: the handler
/// (which may run on any thread, whatever the masks) only writes the signal number to a pipe;
/// the server reads it with `next()` and acts outside signal context.
enum ServerSignals {
    nonisolated(unsafe) private static var pipeFDs: [Int32] = [-1, -1]
    nonisolated(unsafe) private static var writeFD: Int32 = -1

    /// Installs the handlers; call once, before waiting with `next()`.
    static func install() {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return }
        pipeFDs = fds
        writeFD = fds[1]
        for s in [SIGINT, SIGTERM, SIGHUP, SIGUSR1] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { signo in
                var n = signo
                _ = Glibc.write(ServerSignals.writeFD, &n, MemoryLayout<Int32>.size)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(s, &action, nil)
        }
    }

    /// Blocks the calling thread until a signal arrives, and returns it.
    static func next() -> Int32 {
        var n: Int32 = 0
        while true {
            let r = Glibc.read(pipeFDs[0], &n, MemoryLayout<Int32>.size)
            if r == MemoryLayout<Int32>.size { return n }
            if r < 0 && errno == EINTR { continue }
            if r <= 0 { return SIGTERM }
        }
    }
}
