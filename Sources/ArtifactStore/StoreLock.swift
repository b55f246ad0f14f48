import Glibc

/// A cross-process reader/writer lock on a file in the store (`flock`), released by the
/// kernel when its holder dies, even by SIGKILL. Publishes hold it shared (many at once);
/// garbage collection holds it exclusive, so it never deletes a blob file that a running
/// publish has written but not yet committed.
final class StoreLock {
    enum Mode { case shared, exclusive }

    private let fd: Int32

    init(
        path: String, mode: Mode, timeoutSeconds: Double,
        busy: String = "the store is locked by another process (a publish or gc is running)"
    ) throws {
        fd = try FileSystem.open(path, O_RDWR | O_CREAT, mode: 0o644)
        let operation = (mode == .shared ? LOCK_SH : LOCK_EX) | LOCK_NB
        let deadline = Self.now() + timeoutSeconds
        while flock(fd, operation) != 0 {
            let code = errno
            guard code == EWOULDBLOCK || code == EINTR else {
                FileSystem.close(fd)
                throw FileSystem.failure(path, code)
            }
            if Self.now() >= deadline {
                FileSystem.close(fd)
                throw StoreError.io(path: path, reason: busy)
            }
            usleep(20_000)
        }
    }

    deinit {
        _ = flock(fd, LOCK_UN)
        FileSystem.close(fd)
    }

    private static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
