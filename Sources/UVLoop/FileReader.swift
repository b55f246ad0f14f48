internal import CLibUV

#if canImport(Glibc)
    import Glibc
#endif

/// What `fstat` says about an open file.
public struct FileStatus: Sendable, Equatable {
    public let size: Int64
    public let isRegularFile: Bool
    public let isDirectory: Bool
    /// Modification time, seconds and nanoseconds since the Unix epoch.
    public let modificationSeconds: Int64
    public let modificationNanoseconds: Int64
}

/// A file opened read-only for asynchronous reads on a loop (`uv_fs_open/read/fstat/close`
/// on the thread pool; every completion runs on the loop thread), for bodies too big to cache.
///
/// Use it on its loop's thread. Call `close()`; a reader dropped while open closes its
/// descriptor synchronously in `deinit`.
public final class FileReader: @unchecked Sendable {
    public let loop: EventLoop
    /// The open descriptor, e.g. for `TCPConnection.sendFile`; valid until `close()`.
    public let descriptor: Int32
    public private(set) var isClosed = false

    private init(loop: EventLoop, descriptor: Int32) {
        self.loop = loop
        self.descriptor = descriptor
    }

    deinit {
        if !isClosed { Glibc.close(descriptor) }
    }

    /// Opens `path` for reading (`O_RDONLY | O_CLOEXEC`); fails with `.enoent`, `.eacces`, …
    public static func open(path: String, on loop: EventLoop, completion: @escaping (Result<FileReader, UVError>) -> Void) {
        let error = FileRequest.submit(
            on: loop,
            { request, callback in
                uv_fs_open(loop.uvLoop, request, path, O_RDONLY | O_CLOEXEC, 0, callback)
            },
            completion: { request in
                let result = request.pointee.result
                if result < 0 {
                    completion(.failure(UVError(rawValue: Int32(result))))
                } else {
                    completion(.success(FileReader(loop: loop, descriptor: Int32(result))))
                }
            })
        if let error { completion(.failure(error)) }
    }

    /// Size, type and modification time of the open file.
    public func status(completion: @escaping (Result<FileStatus, UVError>) -> Void) {
        guard !isClosed else { return completion(.failure(.ebadf)) }
        let error = FileRequest.submit(
            on: loop,
            { request, callback in
                uv_fs_fstat(loop.uvLoop, request, descriptor, callback)
            },
            completion: { request in
                let result = request.pointee.result
                guard result >= 0 else { return completion(.failure(UVError(rawValue: Int32(result)))) }
                let stat = request.pointee.statbuf
                let type = stat.st_mode & UInt64(Glibc.S_IFMT)
                completion(
                    .success(
                        FileStatus(
                            size: Int64(stat.st_size),
                            isRegularFile: type == UInt64(Glibc.S_IFREG),
                            isDirectory: type == UInt64(Glibc.S_IFDIR),
                            modificationSeconds: Int64(stat.st_mtim.tv_sec),
                            modificationNanoseconds: Int64(stat.st_mtim.tv_nsec))))
            })
        if let error { completion(.failure(error)) }
    }

    /// Largest `count` one `read` accepts (the storage is allocated up front).
    public static let maxReadCount = 64 << 20

    /// Reads up to `count` bytes at `offset` into new shared storage (send it with
    /// `WriteBuffer(bytes)` without another copy). Fewer bytes near the end, none at or past it;
    /// `.einval` for a negative offset or a count outside `0...maxReadCount`.
    public func read(offset: Int64, count: Int, completion: @escaping (Result<SharedBytes, UVError>) -> Void) {
        guard !isClosed else { return completion(.failure(.ebadf)) }
        guard offset >= 0, (0...Self.maxReadCount).contains(count) else { return completion(.failure(.einval)) }
        let storage = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 16)
        let error = FileRequest.submit(
            on: loop,
            { request, callback in
                var buffer = UV.buffer(storage, count)
                return uv_fs_read(loop.uvLoop, request, descriptor, &buffer, 1, offset, callback)
            },
            completion: { request in
                let result = request.pointee.result
                if result < 0 {
                    storage.deallocate()
                    completion(.failure(UVError(rawValue: Int32(result))))
                } else {
                    completion(.success(SharedBytes(adopting: storage, count: result)))
                }
            })
        if let error {
            storage.deallocate()
            completion(.failure(error))
        }
    }

    /// Closes the descriptor (asynchronously); idempotent.
    public func close(completion: ((UVError?) -> Void)? = nil) {
        guard !isClosed else { return completion?(nil) ?? () }
        isClosed = true
        let error = FileRequest.submit(
            on: loop,
            { request, callback in
                uv_fs_close(loop.uvLoop, request, descriptor, callback)
            },
            completion: { request in
                let result = request.pointee.result
                completion?(result < 0 ? UVError(rawValue: Int32(result)) : nil)
            })
        if let error { completion?(error) }
    }
}
