internal import CLibUV

#if canImport(Glibc)
    import Glibc
#endif

/// Reads from a file only what the page cache holds, never waiting for the disk (`preadv2` with
/// `RWF_NOWAIT`), so an event loop can copy hot file bytes without a trip to the thread pool.
public enum CachedFileRead {
    /// What one attempt gave.
    public enum Outcome: Equatable, Sendable {
        /// This many bytes were read (fewer than asked is possible).
        case read(Int)
        /// The bytes are not in memory: read them on the thread pool instead.
        case wouldBlock
        /// End of file before the offset, or a read error (errno).
        case failed(Int32)
    }

    public static func read(descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer, offset: Int64) -> Outcome {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return .read(0) }
        while true {
            let n = wharf_pread_nowait(descriptor, base, buffer.count, off_t(offset))
            if n > 0 { return .read(n) }
            if n == 0 { return .failed(0) }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EOPNOTSUPP { return .wouldBlock }
            return .failed(code)
        }
    }

    /// Reads `count` bytes at `offset`, waiting for the disk if need be: for the thread pool only.
    public static func readBlocking(descriptor: Int32, count: Int, offset: Int64) -> [UInt8]? {
        var failed = false
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            while initialized < count {
                let n = pread(descriptor, buffer.baseAddress! + initialized, count - initialized, off_t(offset) + off_t(initialized))
                if n < 0 && errno == EINTR { continue }
                if n <= 0 {
                    failed = true
                    return
                }
                initialized += n
            }
        }
        return failed ? nil : bytes
    }
}
