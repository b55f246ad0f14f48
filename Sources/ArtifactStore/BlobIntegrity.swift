import Crypto
import Glibc
import Synchronization

/// Checks bytes read back from the store against the SHA-256 they are stored under, so a blob
/// corrupted on disk (a flipped bit, a truncated or overwritten file) is refused instead of
/// served. Inline bodies (from SQLite) are hashed once while the database is unchanged (see
/// `InlineBlobVerifier`); blob files, whether sent from disk or read into memory, are hashed once per
/// process and remembered while their inode, size and modification time stay the same (a
/// rewritten or replaced file is checked again; a bit flipped in place without a write is not).
public enum BlobIntegrity {
    /// Whether `bytes` hash to `hash` (64 lower-case hex characters).
    public static func matches(_ bytes: [UInt8], hash: String) -> Bool {
        ContentHash.of(bytes) == hash
    }

    /// Whether `bytes`, just read from `descriptor` at `offset` (a blob file's range), hash to
    /// `hash`. Like the streaming check below, a file already checked with the same identity
    /// (device, inode, size, modification time, range) is not hashed again: a cache miss on a
    /// blob file read into memory costs a `fstat`, not a SHA-256 of its bytes.
    public static func matches(_ bytes: [UInt8], readFrom descriptor: Int32, offset: Int64, hash: String) -> Bool {
        guard let identity = FileIdentity(descriptor: descriptor, offset: offset, length: Int64(bytes.count), hash: hash)
        else { return false }
        if verified.withLock({ $0.contains(identity) }) { return true }
        guard ContentHash.of(bytes) == hash else { return false }
        remember(identity)
        return true
    }

    /// Whether `length` bytes of `descriptor` at `offset` hash to `hash`, read in 1 MiB steps
    /// (blocking reads: call it off the event loops). A file already checked with the same size
    /// and modification time is not read again.
    public static func matches(descriptor: Int32, offset: Int64, length: Int64, hash: String) -> Bool {
        guard let identity = FileIdentity(descriptor: descriptor, offset: offset, length: length, hash: hash) else { return false }
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
        remember(identity)
        return true
    }

    private static func remember(_ identity: FileIdentity) {
        verified.withLock { set in
            if set.count >= maxRemembered { set.removeAll(keepingCapacity: true) }
            set.insert(identity)
        }
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

        /// The identity of `descriptor`'s file now; nil when it cannot be `fstat`ed.
        init?(descriptor: Int32, offset: Int64, length: Int64, hash: String) {
            var info = stat()
            guard fstat(descriptor, &info) == 0 else { return nil }
            self.hash = hash
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
            size = Int64(info.st_size)
            modifiedSeconds = Int64(info.st_mtim.tv_sec)
            modifiedNanoseconds = Int64(info.st_mtim.tv_nsec)
            self.offset = offset
            self.length = length
        }
    }

    private static let maxRemembered = 100_000
    private static let verified = Mutex<Set<FileIdentity>>([])
}
