import Glibc

/// The on-disk half of hybrid placement: blobs over the inline threshold are files at
/// `<store>/blobs/<2 hex>/<62 hex>`. Each is written under `<store>/tmp/`, fsynced, renamed into
/// place and its directory fsynced, so a blob file is either absent or complete. Files nobody
/// references (a crashed publish) are garbage that `gc` removes.
struct BlobFiles: Sendable {
    let root: String
    var blobsDirectory: String { root + "/blobs" }
    var temporaryDirectory: String { root + "/tmp" }

    func prepare() throws {
        try FileSystem.makeDirectory(blobsDirectory)
        try FileSystem.makeDirectory(temporaryDirectory)
    }

    func path(for hash: String) -> String {
        let utf8 = Array(hash.utf8)
        let prefix = String(decoding: utf8[0..<2], as: UTF8.self)
        let rest = String(decoding: utf8[2...], as: UTF8.self)
        return "\(blobsDirectory)/\(prefix)/\(rest)"
    }

    /// A fresh, unique temporary file path inside the store (same file system as `blobs/`).
    func temporaryPath() -> String {
        var random = SystemRandomNumberGenerator()
        let token = String(random.next() as UInt64, radix: 16)
        return "\(temporaryDirectory)/\(FileSystem.processID)-\(token).part"
    }

    /// Writes `bytes` as the blob `hash` if it is not already a file. Returns true if this call
    /// created the file (so a failed publish can remove what it added).
    @discardableResult
    func write(_ bytes: [UInt8], hash: String) throws -> Bool {
        let temp = temporaryPath()
        let fd = try FileSystem.open(temp, O_WRONLY | O_CREAT | O_EXCL, mode: 0o644)
        do {
            try bytes.withUnsafeBytes { (raw) throws in try FileSystem.writeAll(fd, raw, path: temp) }
            try FileSystem.fsync(fd, path: temp)
            FileSystem.close(fd)
        } catch {
            FileSystem.close(fd)
            FileSystem.unlink(temp)
            throw error
        }
        return try install(temporary: temp, hash: hash)
    }

    /// Moves a complete, fsynced temporary file into place as blob `hash`. Returns true if the
    /// blob file did not exist before.
    @discardableResult
    func install(temporary temp: String, hash: String) throws -> Bool {
        let final = path(for: hash)
        let directory = String(final[..<final.lastIndex(of: "/")!])
        do {
            let existed = FileSystem.fileExists(final)
            let createdDirectory = try FileSystem.makeDirectory(directory)
            if createdDirectory { try FileSystem.fsyncDirectory(blobsDirectory) }
            try FileSystem.rename(temp, final)
            try FileSystem.fsyncDirectory(directory)
            return !existed
        } catch {
            FileSystem.unlink(temp)
            throw error
        }
    }

    func remove(hash: String) { FileSystem.unlink(path(for: hash)) }

    /// The size of the blob file, or nil if it is missing.
    func size(of hash: String) -> Int64? {
        guard let st = FileSystem.info(path(for: hash)), (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int64(st.st_size)
    }

    /// Every blob hash that has a file on disk (for gc's orphan sweep and for stats).
    func allHashes() throws -> [String] {
        var hashes: [String] = []
        for prefix in try FileSystem.directoryEntries(blobsDirectory) {
            let prefixName = String(decoding: prefix, as: UTF8.self)
            let directory = "\(blobsDirectory)/\(prefixName)"
            guard prefix.count == 2, FileSystem.isDirectory(directory) else { continue }
            for rest in try FileSystem.directoryEntries(directory) {
                let hash = prefixName + String(decoding: rest, as: UTF8.self)
                if ContentHash.isValidHex(hash) { hashes.append(hash) }
            }
        }
        return hashes
    }

    /// Removes every temporary file; only safe while no publish runs (gc holds the exclusive lock).
    func clearTemporaryFiles() throws -> Int {
        var removed = 0
        for name in try FileSystem.directoryEntries(temporaryDirectory) {
            FileSystem.unlink("\(temporaryDirectory)/\(String(decoding: name, as: UTF8.self))")
            removed += 1
        }
        return removed
    }
}
