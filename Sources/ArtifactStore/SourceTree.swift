import Glibc

/// A regular file found in a directory being published.
struct SourceFile: Sendable {
    /// URL path within the deployment (`/assets/app.js`).
    var urlPath: String
    /// Where to read the bytes (symlinks already resolved, inside the root).
    var filePath: String
    var size: Int64
    /// Modification time, seconds since the epoch.
    var modifiedAt: Int64
}

/// Walks a directory to publish and checks every entry before anything is written, so that
/// bad input (escaping symlinks, oversized or unreadable files, FIFOs, unservable names)
/// fails the publish with the store untouched.
enum SourceTree {
    static func scan(_ root: String, maxFileSize: Int64) throws -> [SourceFile] {
        guard FileSystem.isDirectory(root), let realRoot = FileSystem.realPath(root) else {
            throw StoreError.sourceDirectoryMissing(root)
        }
        var files: [SourceFile] = []
        try walk(
            directory: realRoot, urlPrefix: "", displayPrefix: root, realRoot: realRoot,
            maxFileSize: maxFileSize, ancestors: [realRoot], into: &files)
        guard !files.isEmpty else { throw StoreError.sourceDirectoryEmpty(root) }
        return files.sorted { $0.urlPath < $1.urlPath }
    }

    private static func walk(
        directory: String, urlPrefix: String, displayPrefix: String, realRoot: String,
        maxFileSize: Int64, ancestors: Set<String>, into files: inout [SourceFile]
    ) throws {
        for rawName in try FileSystem.directoryEntries(directory) {
            let displayPath = displayPrefix + "/" + String(decoding: rawName, as: UTF8.self)
            guard let name = servableName(rawName) else { throw StoreError.unsafeFileName(displayPath) }
            let entryPath = directory + "/" + name
            guard let link = FileSystem.linkInfo(entryPath) else {
                throw StoreError.unreadableFile(path: displayPath, reason: FileSystem.errorText(errno))
            }
            var resolvedPath = entryPath
            if (link.st_mode & S_IFMT) == S_IFLNK {
                guard let target = FileSystem.realPath(entryPath) else {
                    throw StoreError.unreadableFile(path: displayPath, reason: "dangling symbolic link")
                }
                guard target == realRoot || target.hasPrefix(realRoot + "/") else {
                    throw StoreError.symlinkEscapesRoot(path: displayPath, target: target)
                }
                resolvedPath = target
            }
            guard let st = FileSystem.info(resolvedPath) else {
                throw StoreError.unreadableFile(path: displayPath, reason: FileSystem.errorText(errno))
            }
            let urlPath = urlPrefix + "/" + name
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                // A link back to a directory we are inside would make the walk endless: skip it.
                let real = FileSystem.realPath(resolvedPath) ?? resolvedPath
                guard !ancestors.contains(real) else { continue }
                try walk(
                    directory: resolvedPath, urlPrefix: urlPath, displayPrefix: displayPath, realRoot: realRoot,
                    maxFileSize: maxFileSize, ancestors: ancestors.union([real]), into: &files)
            case S_IFREG:
                let size = Int64(st.st_size)
                guard size <= maxFileSize else { throw StoreError.fileTooLarge(path: displayPath, size: size, limit: maxFileSize) }
                let fd = Glibc.open(resolvedPath, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { throw StoreError.unreadableFile(path: displayPath, reason: FileSystem.errorText(errno)) }
                Glibc.close(fd)
                files.append(
                    SourceFile(
                        urlPath: urlPath, filePath: resolvedPath, size: size,
                        modifiedAt: Int64(st.st_mtim.tv_sec)))
            default:
                throw StoreError.notARegularFile(displayPath)
            }
        }
    }

    /// The name as a String if it is valid UTF-8 without control characters or a backslash.
    private static func servableName(_ raw: [UInt8]) -> String? {
        guard let name = String(validating: raw, as: UTF8.self) else { return nil }
        guard !raw.contains(where: { $0 < 0x20 || $0 == 0x7f || $0 == 0x5c }) else { return nil }
        return name
    }
}
