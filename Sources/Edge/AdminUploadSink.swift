import ArtifactStore
import Glibc

/// Receives one streamed request body into a new temporary file (mode 0600, `O_EXCL`), hashing
/// it with SHA-256 as it arrives, so an upload is never held whole in memory. Admin loop thread
/// only: the writes go to the page cache in slices of what the socket delivered, on the admin
/// listener's own loop, never on a serving loop.
final class AdminUploadSink {
    let path: String
    let maxBytes: Int
    private var descriptor: Int32
    private var hasher = ContentHash()
    private(set) var size = 0

    /// Why a body could not be received.
    enum Failure: Error {
        case tooLarge
        case io(String)
    }

    init(target: AdminUploadTarget) throws(Failure) {
        maxBytes = target.maxBytes
        var random = SystemRandomNumberGenerator()
        let name = "upload-" + String(UInt64.random(in: 0 ... .max, using: &random), radix: 16)
        path = target.directory + "/" + name
        descriptor = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw .io("cannot create \(name): \(String(cString: strerror(errno)))") }
    }

    /// Appends a slice of the body; on failure the file is removed.
    func write(_ bytes: ArraySlice<UInt8>) throws(Failure) {
        guard size + bytes.count <= maxBytes else {
            discard()
            throw .tooLarge
        }
        let failed: Bool = bytes.withUnsafeBytes { raw in
            hasher.update(raw)
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return true }
                offset += n
            }
            return false
        }
        if failed {
            let reason = String(cString: strerror(errno))
            discard()
            throw .io(reason)
        }
        size += bytes.count
    }

    /// Closes the file and describes it; the file is the caller's from now on.
    func finish() -> AdminUploadedBody {
        Glibc.close(descriptor)
        descriptor = -1
        let digest = hasher
        return AdminUploadedBody(path: path, size: size, sha256: digest.finalizeHex())
    }

    /// Closes and removes the partial file (a refused or interrupted upload).
    func discard() {
        if descriptor >= 0 {
            Glibc.close(descriptor)
            descriptor = -1
        }
        unlink(path)
    }
}
