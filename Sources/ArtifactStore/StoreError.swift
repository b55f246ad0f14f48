import GRDB

/// Everything that can go wrong in the store, each case naming the problem in words a person
/// publishing an app can act on. Mutating operations that throw leave the store as it was.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The app name is not a lower-case DNS-label slug (1–63 of `a-z`, `0-9`, `-`, no edge dash).
    case unsafeAppName(String)
    /// The directory to publish does not exist or is not a directory.
    case sourceDirectoryMissing(String)
    /// The directory to publish holds no regular files.
    case sourceDirectoryEmpty(String)
    /// A symbolic link inside the directory resolves to somewhere outside it.
    case symlinkEscapesRoot(path: String, target: String)
    /// A file is larger than the configured per-file limit.
    case fileTooLarge(path: String, size: Int64, limit: Int64)
    /// A file could not be opened or read (permissions, I/O error, dangling link).
    case unreadableFile(path: String, reason: String)
    /// An entry is neither a regular file nor a directory (FIFO, socket, device).
    case notARegularFile(String)
    /// A file name the edge could not serve safely (control characters, invalid UTF-8).
    case unsafeFileName(String)
    /// The disk (or the database) is full; nothing was published.
    case storeFull(String)
    /// No deployment with this id (for this app).
    case deploymentNotFound(String)
    /// The app has no deployment to roll back to.
    case nothingToRollBack(app: String)
    /// The app has never been published.
    case unknownApp(String)
    /// A blob's bytes no longer match its hash, or it is missing.
    case corruptBlob(hash: String, reason: String)
    /// A store option is out of range (for example a zstd window browsers refuse).
    case invalidOption(String)
    /// Any other I/O failure on the store's own files.
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case .unsafeAppName(let name):
            return "app name '\(name)' is not a safe slug (1-63 characters of a-z, 0-9 and '-', not starting or ending with '-')"
        case .sourceDirectoryMissing(let path):
            return "directory '\(path)' does not exist or is not a directory"
        case .sourceDirectoryEmpty(let path):
            return "directory '\(path)' contains no files to publish"
        case .symlinkEscapesRoot(let path, let target):
            return "symbolic link '\(path)' points outside the published directory (to '\(target)')"
        case .fileTooLarge(let path, let size, let limit):
            return "file '\(path)' is \(size) bytes, over the per-file limit of \(limit) bytes"
        case .unreadableFile(let path, let reason):
            return "cannot read '\(path)': \(reason)"
        case .notARegularFile(let path):
            return "'\(path)' is not a regular file or directory"
        case .unsafeFileName(let path):
            return "file name '\(path)' contains characters that cannot be served (control characters or invalid UTF-8)"
        case .storeFull(let reason):
            return "the store is full (\(reason)); nothing was published"
        case .deploymentNotFound(let id):
            return "no deployment '\(id)'"
        case .nothingToRollBack(let app):
            return "app '\(app)' has no earlier deployment to roll back to"
        case .unknownApp(let app):
            return "app '\(app)' has never been published"
        case .corruptBlob(let hash, let reason):
            return "blob \(hash) is corrupt: \(reason)"
        case .invalidOption(let reason):
            return "invalid store option: \(reason)"
        case .io(let path, let reason):
            return "I/O error on '\(path)': \(reason)"
        }
    }
}

extension StoreError {
    /// Maps SQLite and other errors into store errors (SQLITE_FULL is a full disk).
    static func from(_ error: any Error, path: String) -> StoreError {
        if let storeError = error as? StoreError { return storeError }
        if let dbError = error as? DatabaseError {
            if dbError.resultCode == .SQLITE_FULL { return .storeFull("database: \(dbError.message ?? "disk full")") }
            return .io(path: path, reason: "SQLite: \(dbError.message ?? "\(dbError.resultCode)")")
        }
        return .io(path: path, reason: "\(error)")
    }
}
