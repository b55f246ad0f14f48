import Glibc

/// Reads files in fixed-size chunks so a 512 MB artifact never has to fit in memory.
enum StreamingFile {
    static let chunkSize = 1 << 20

    /// Calls `body` with each chunk of the file, in order.
    static func forEachChunk(_ path: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let fd = try FileSystem.open(path, O_RDONLY)
        defer { FileSystem.close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = try FileSystem.read(fd, into: buffer, path: path)
            if n == 0 { return }
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
    }

    /// Copies a file to a new temporary file in the store, hashing as it goes; the copy is
    /// fsynced. Returns the temporary path, the hash and the size.
    static func copyToTemporary(_ path: String, blobFiles: BlobFiles) throws -> (String, String, Int64) {
        let temp = blobFiles.temporaryPath()
        let out = try FileSystem.open(temp, O_WRONLY | O_CREAT | O_EXCL, mode: 0o644)
        var hasher = ContentHash()
        var size: Int64 = 0
        do {
            try forEachChunk(path) { chunk in
                hasher.update(chunk)
                size += Int64(chunk.count)
                try FileSystem.writeAll(out, chunk, path: temp)
            }
            try FileSystem.fsync(out, path: temp)
            FileSystem.close(out)
        } catch {
            FileSystem.close(out)
            FileSystem.unlink(temp)
            throw error
        }
        return (temp, hasher.finalizeHex(), size)
    }
}
