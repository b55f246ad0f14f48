import Glibc

/// Every raw POSIX call the store makes, in one place: EINTR retried, failures turned into
/// `StoreError` (ENOSPC/EDQUOT become `.storeFull`, the rest `.io` naming the path).
enum FileSystem {
    static func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }

    static func failure(_ path: String, _ code: Int32 = errno) -> StoreError {
        if code == ENOSPC || code == EDQUOT || code == EFBIG { return .storeFull("\(errorText(code)) writing '\(path)'") }
        return .io(path: path, reason: errorText(code))
    }

    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644) throws -> Int32 {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno != EINTR { throw failure(path) }
        }
    }

    static func close(_ fd: Int32) { _ = Glibc.close(fd) }

    /// Reads up to `count` bytes; 0 at end of file.
    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, path: String) throws -> Int {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno != EINTR { throw StoreError.unreadableFile(path: path, reason: errorText(errno)) }
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw failure(path)
            }
            offset += n
        }
    }

    static func fsync(_ fd: Int32, path: String) throws {
        while Glibc.fsync(fd) != 0 {
            if errno != EINTR { throw failure(path) }
        }
    }

    /// fsync of a directory makes a rename or create inside it durable.
    static func fsyncDirectory(_ path: String) throws {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try fsync(fd, path: path)
    }

    static func rename(_ from: String, _ to: String) throws {
        if Glibc.rename(from, to) != 0 { throw failure(to) }
    }

    static func unlink(_ path: String) { _ = Glibc.unlink(path) }

    /// Creates a directory if missing; returns true if it was created.
    @discardableResult
    static func makeDirectory(_ path: String) throws -> Bool {
        if Glibc.mkdir(path, 0o755) == 0 { return true }
        if errno == EEXIST { return false }
        throw failure(path)
    }

    static func linkInfo(_ path: String) -> Glibc.stat? {
        var st = Glibc.stat()
        return lstat(path, &st) == 0 ? st : nil
    }

    static func info(_ path: String) -> Glibc.stat? {
        var st = Glibc.stat()
        return stat(path, &st) == 0 ? st : nil
    }

    static func isDirectory(_ path: String) -> Bool {
        guard let st = info(path) else { return false }
        return (st.st_mode & S_IFMT) == S_IFDIR
    }

    static func fileExists(_ path: String) -> Bool { linkInfo(path) != nil }

    /// The canonical absolute path (symlinks resolved), or nil if it does not resolve.
    static func realPath(_ path: String) -> String? {
        guard let resolved = Glibc.realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Names in a directory, without `.` and `..`, as raw bytes (names need not be UTF-8).
    static func directoryEntries(_ path: String) throws -> [[UInt8]] {
        guard let dir = opendir(path) else { throw StoreError.unreadableFile(path: path, reason: errorText(errno)) }
        defer { closedir(dir) }
        var names: [[UInt8]] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw -> [UInt8] in
                Array(raw.prefix { $0 != 0 })
            }
            if name == [0x2e] || name == [0x2e, 0x2e] { continue }
            names.append(name)
        }
        return names
    }

    /// Reads a whole (small) file.
    static func readFile(_ path: String, limit: Int = Int.max) throws -> [UInt8] {
        let fd = try open(path, O_RDONLY)
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = try chunk.withUnsafeMutableBytes { (buffer) throws -> Int in
                try read(fd, into: buffer, path: path)
            }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
            if out.count > limit { throw StoreError.io(path: path, reason: "larger than \(limit) bytes") }
        }
    }

    static var processID: Int32 { getpid() }
}
