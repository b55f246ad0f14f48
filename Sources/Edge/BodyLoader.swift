import ArtifactStore
import Foundation
import Glibc

/// An open blob file shared by every response that sends it; closed when the last user lets go
/// (cache eviction or purge while a send is still running keeps it open until that send ends).
public final class OpenFile: Sendable {
    public let descriptor: Int32
    public let offset: Int64
    public let length: Int64

    init(descriptor: Int32, offset: Int64, length: Int64) {
        self.descriptor = descriptor
        self.offset = offset
        self.length = length
    }

    deinit { Glibc.close(descriptor) }
}

/// Loads representation bodies from the store. Runs on the thread pool, never on a loop.
struct BodyLoader: Sendable {
    let store: Store
    let sendfileThreshold: Int
    /// A tier edge's fetcher for blobs its replica store does not hold (nil: a plain edge,
    /// whose every blob is local).
    var missingBlobs: (any MissingBlobSource)? = nil

    /// The size above which a blob file is sent from disk rather than read into the cache: the
    /// configured `edge.sendfile_threshold`, but at most a sixteenth of the response cache (and
    /// not under 64 KiB). A body that would push a sixteenth of a small cache out on every miss
    /// costs a read and a copy per miss and mostly evicts its neighbours; sent with sendfile, its
    /// cache entry is an open file of a few bytes.
    static func sendfileThreshold(configured: Int, cacheBytes: Int) -> Int {
        min(configured, max(64 << 10, cacheBytes / 16))
    }

    enum Loaded: Sendable {
        case bytes([UInt8])
        case file(OpenFile)
    }

    enum LoadError: Error, CustomStringConvertible {
        case open(String, Int32)
        case shortRead(String)
        case sizeMismatch(expected: Int64, actual: Int)
        /// The bytes on disk do not hash to the blob's address: corrupted, never served.
        case corrupt(String)
        var description: String {
            switch self {
            case .corrupt(let what): "\(what) does not match its SHA-256: the stored blob is corrupted (run wharf verify)"
            case .open(let path, let code): "cannot open \(path): \(String(cString: strerror(code)))"
            case .shortRead(let path): "short read from \(path)"
            case .sizeMismatch(let expected, let actual): "body is \(actual) bytes, manifest says \(expected)"
            }
        }
    }

    /// Small bodies come back as bytes (to be cached), large ones as an open file for sendfile.
    /// A body over the store's inline threshold is a blob file: opened straight away (no
    /// database query on the miss). A body within it is asked of the store first, which answers
    /// with the inline bytes or where its file is (so an inline blob costs no failing `open`).
    func load(_ file: ServedFile, _ rep: ServedFile.Representation) throws -> Loaded {
        if missingBlobs == nil && rep.size <= Int64(store.options.inlineThreshold) {
            return try loadFromStore(file, rep)
        }
        if let (fd, size) = store.openBlobFile(hash: rep.blobHash) {
            let opened = OpenFile(descriptor: fd, offset: 0, length: Int64(size))
            guard Int64(size) == rep.size else { throw LoadError.sizeMismatch(expected: rep.size, actual: size) }
            missingBlobs?.used(hash: rep.blobHash)
            return try loaded(opened, path: "blob \(file.entry.path)", hash: rep.blobHash)
        }
        if let missingBlobs {
            // A replica records every blob as a file; an absent one is fetched from the origin.
            let fd = try missingBlobs.fetch(hash: rep.blobHash, size: rep.size)
            return try loaded(OpenFile(descriptor: fd, offset: 0, length: rep.size), path: "fetched blob \(file.entry.path)", hash: rep.blobHash)
        }
        return try loadFromStore(file, rep)
    }

    /// The body as the store's blob row says: inline bytes, or a range of its blob file.
    private func loadFromStore(_ file: ServedFile, _ rep: ServedFile.Representation) throws -> Loaded {
        let readSince = store.inlineVerifier.stamp()
        switch try store.body(hash: rep.blobHash) {
        case .bytes(let bytes):
            guard Int64(bytes.count) == rep.size else { throw LoadError.sizeMismatch(expected: rep.size, actual: bytes.count) }
            guard store.inlineVerifier.matches(bytes, hash: rep.blobHash, readSince: readSince)
            else { throw LoadError.corrupt("blob of \(file.entry.path)") }
            return .bytes(bytes)
        case .file(let path, let offset, let length):
            guard Int64(length) == rep.size else { throw LoadError.sizeMismatch(expected: rep.size, actual: length) }
            let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw LoadError.open(path, errno) }
            return try loaded(OpenFile(descriptor: fd, offset: Int64(offset), length: Int64(length)), path: path, hash: rep.blobHash)
        }
    }

    /// An open range: for sendfile when over the threshold, else read into memory (to be cached);
    /// either way its bytes are checked against `hash` first (once per process while the file
    /// keeps its identity, see `BlobIntegrity`).
    private func loaded(_ opened: OpenFile, path: String, hash: String) throws -> Loaded {
        let length = Int(opened.length)
        if length > sendfileThreshold {
            guard BlobIntegrity.matches(descriptor: opened.descriptor, offset: opened.offset, length: opened.length, hash: hash)
            else { throw LoadError.corrupt(path) }
            return .file(opened)
        }
        // Read straight into the array's storage: no zero-fill first.
        var failed = false
        let bytes = [UInt8](unsafeUninitializedCapacity: length) { buffer, count in
            var done = 0
            while done < length {
                let n = pread(opened.descriptor, buffer.baseAddress! + done, length - done, off_t(opened.offset) + off_t(done))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    failed = true
                    break
                }
                done += n
            }
            count = failed ? 0 : length
        }
        if failed { throw LoadError.shortRead(path) }
        guard BlobIntegrity.matches(bytes, readFrom: opened.descriptor, offset: opened.offset, hash: hash)
        else { throw LoadError.corrupt(path) }
        return .bytes(bytes)
    }
}
