import Glibc
import Synchronization

/// Checks inline blobs (bytes held in SQLite rows) against their SHA-256 once per store handle
/// while the database does not change, instead of on every load: on an edge whose response
/// cache is smaller than its working set the same small bodies are loaded again and again, and
/// hashing them was the largest cost of a miss after the row read.
///
/// "Does not change" is judged the way `BlobIntegrity` judges blob files: by the identity (inode,
/// size, modification time) of `store.sqlite` and its `-wal` file, taken before the row is read
/// and again after. Any commit (a publish, a popularity flush, an `UPDATE` by hand) changes the
/// WAL, which forgets everything remembered; bytes read while the files were changing are hashed
/// and not remembered. What this gives up: a byte flipped on disk without a write (bit rot,
/// which leaves size and time alone) in a row already checked by this process is served by its
/// later loads until the files change or the edge restarts. `wharf verify` re-hashes every blob.
public final class InlineBlobVerifier: Sendable {
    /// Which state of the database files a read happened in; compare two with `==`.
    public struct Stamp: Equatable, Sendable {
        fileprivate let database: FileStamp
        fileprivate let wal: FileStamp
    }

    fileprivate struct FileStamp: Equatable, Sendable {
        var inode: UInt64 = 0
        var size: Int64 = -1
        var seconds: Int64 = 0
        var nanoseconds: Int64 = 0
    }

    private let databasePath: String
    private let walPath: String
    private let remembered = Mutex<(stamp: Stamp?, hashes: Set<String>)>((nil, []))
    /// Bounds the memory held (about 100 bytes per hash); past it the set starts again.
    static let maxRemembered = 100_000

    init(databasePath: String) {
        self.databasePath = databasePath
        self.walPath = databasePath + "-wal"
    }

    /// The database files' state now: take it before reading a row, pass it to `matches`.
    public func stamp() -> Stamp {
        Stamp(database: Self.fileStamp(databasePath), wal: Self.fileStamp(walPath))
    }

    /// Whether `bytes`, read from the row of `hash` after `readSince` was taken, hash to `hash`.
    /// Remembered hashes are not hashed again while the files keep the state they had.
    public func matches(_ bytes: [UInt8], hash: String, readSince: Stamp) -> Bool {
        let now = stamp()
        guard now == readSince else { return BlobIntegrity.matches(bytes, hash: hash) }
        let known = remembered.withLock { state -> Bool in
            if state.stamp != now {
                state.stamp = now
                state.hashes.removeAll(keepingCapacity: true)
            }
            return state.hashes.contains(hash)
        }
        if known { return true }
        guard BlobIntegrity.matches(bytes, hash: hash) else { return false }
        remembered.withLock { state in
            guard state.stamp == now else { return }
            if state.hashes.count >= Self.maxRemembered { state.hashes.removeAll(keepingCapacity: true) }
            state.hashes.insert(hash)
        }
        return true
    }

    private static func fileStamp(_ path: String) -> FileStamp {
        var info = stat()
        guard stat(path, &info) == 0 else { return FileStamp() }
        return FileStamp(
            inode: UInt64(info.st_ino), size: Int64(info.st_size),
            seconds: Int64(info.st_mtim.tv_sec), nanoseconds: Int64(info.st_mtim.tv_nsec))
    }
}
