import Crypto
import Glibc
import Synchronization

/// Checks bytes read back from the store against the SHA-256 they are stored under, so a blob
/// corrupted on disk (a flipped bit, a truncated or overwritten file) is refused instead of
/// served. In-memory bodies are hashed on every load (each load fills the response cache once);
/// blob files, which can be tens of MB, are hashed once per process and remembered while their
/// size and modification time stay the same.
public enum BlobIntegrity {
    /// Whether `bytes` hash to `hash` (64 lower-case hex characters).
    public static func matches(_ bytes: [UInt8], hash: String) -> Bool {
        ContentHash.of(bytes) == hash
    }

    /// Whether `length` bytes of `descriptor` at `offset` hash to `hash`, read in 1 MiB steps
    /// (blocking reads: call it off the event loops). A file already checked with the same size
    /// and modification time is not read again.
    public static func matches(descriptor: Int32, offset: Int64, length: Int64, hash: String) -> Bool {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return false }
        let identity = FileIdentity(hash: hash, device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
                                    modifiedSeconds: Int64(info.st_mtim.tv_sec), modifiedNanoseconds: Int64(info.st_mtim.tv_nsec),
                                    offset: offset, length: length)
        if verified.withLock({ $0.contains(identity) }) { return true }
        var hasher = ContentHash()
        let step = 1 << 20
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: step, alignment: 16)
        defer { scratch.deallocate() }
        var done: Int64 = 0
        while done < length {
            let want = Int(min(Int64(step), length - done))
            let n = pread(descriptor, scratch.baseAddress!, want, off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            hasher.update(UnsafeRawBufferPointer(rebasing: scratch[0..<n]))
            done += Int64(n)
        }
        guard hasher.finalizeHex() == hash else { return false }
        verified.withLock { set in
            if set.count >= maxRemembered { set.removeAll(keepingCapacity: true) }
            set.insert(identity)
        }
        return true
    }

    /// A blob file as checked: a rewritten file (new inode, size or time) is checked again.
    private struct FileIdentity: Hashable {
        let hash: String
        let device: UInt64
        let inode: UInt64
        let size: Int64
        let modifiedSeconds: Int64
        let modifiedNanoseconds: Int64
        let offset: Int64
        let length: Int64
    }

    private static let maxRemembered = 100_000
    private static let verified = Mutex<Set<FileIdentity>>([])
}
