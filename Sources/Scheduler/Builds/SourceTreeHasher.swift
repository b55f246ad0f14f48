import Crypto
import Foundation

/// Content hashes of a source directory, for the build cache key.
enum SourceTreeHasher {
    /// Directories that are never source: VCS data and installed dependencies.
    static let skippedDirectories: Set<String> = [".git", ".hg", ".svn", "node_modules", ".dart_tool", ".pub-cache"]
    /// Lock files that pin dependencies, in the order they are hashed.
    static let lockFiles = ["package-lock.json", "pnpm-lock.yaml", "yarn.lock", "pubspec.lock"]

    enum HashError: Error, Equatable, CustomStringConvertible {
        case notADirectory(String)
        case unreadable(String)
        public var description: String {
            switch self {
            case .notADirectory(let path): "source '\(path)' is not a directory"
            case .unreadable(let path): "cannot read '\(path)'"
            }
        }
    }

    /// SHA-256 over every regular file's relative path and content, and every symlink's path and target
    /// (not followed), in sorted path order. Mode bits and times are ignored: they do not change a build.
    static func hash(directory: String) throws -> String {
        let root = URL(fileURLWithPath: directory, isDirectory: true).standardizedFileURL
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw HashError.notADirectory(directory)
        }
        var entries: [(path: String, url: URL, isLink: Bool)] = []
        try collect(root, relative: "", into: &entries)
        entries.sort { $0.path < $1.path }
        var hasher = SHA256()
        for entry in entries {
            update(&hasher, entry.isLink ? "L" : "F")
            update(&hasher, entry.path)
            if entry.isLink {
                update(&hasher, (try? FileManager.default.destinationOfSymbolicLink(atPath: entry.url.path)) ?? "")
            } else {
                update(&hasher, try fileDigest(entry.url))
            }
        }
        return hasher.finalize().hexString
    }

    /// The key of a slot's dependency cache for a build of `directory`: SHA-256 over its lock-file hash
    /// and the toolchain version; nil when the directory has no lock file (nothing to cache, and no
    /// key that every lock-less app would share).
    static func dependencyHash(directory: String, toolchainVersion: String) -> String? {
        let present = lockFiles.contains { FileManager.default.fileExists(atPath: directory + "/" + $0) }
        guard present, let locks = try? dependencyLockHash(directory: directory) else { return nil }
        var hasher = SHA256()
        update(&hasher, locks)
        update(&hasher, toolchainVersion)
        return hasher.finalize().hexString
    }

    /// SHA-256 over the lock files present at the top of `directory` (name and content, fixed order);
    /// the hash of nothing when there is none. Equal hashes mean equal installed dependencies.
    static func dependencyLockHash(directory: String) throws -> String {
        var hasher = SHA256()
        for name in lockFiles {
            let url = URL(fileURLWithPath: directory).appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: url.path) else { continue }
            update(&hasher, name)
            update(&hasher, try fileDigest(url))
        }
        return hasher.finalize().hexString
    }

    private static func collect(_ url: URL, relative: String, into entries: inout [(path: String, url: URL, isLink: Bool)]) throws {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: url.path) } catch { throw HashError.unreadable(url.path) }
        for name in names {
            let child = url.appendingPathComponent(name)
            let path = relative.isEmpty ? name : relative + "/" + name
            let values = try? child.resourceValues(forKeys: [.isSymbolicLinkKey, .isDirectoryKey, .isRegularFileKey])
            if values?.isSymbolicLink == true {
                entries.append((path, child, true))
            } else if values?.isDirectory == true {
                if !skippedDirectories.contains(name) { try collect(child, relative: path, into: &entries) }
            } else if values?.isRegularFile == true {
                entries.append((path, child, false))
            }
        }
    }

    /// SHA-256 of a file, read in 1 MiB chunks.
    private static func fileDigest(_ url: URL) throws -> String {
        guard let handle = try? FileHandle(forReadingFrom: url) else { throw HashError.unreadable(url.path) }
        defer { try? handle.close() }
        var hasher = SHA256()
        while true {
            let chunk: Data
            do { chunk = try handle.read(upToCount: 1 << 20) ?? Data() } catch { throw HashError.unreadable(url.path) }
            if chunk.isEmpty { break }
            hasher.update(data: chunk)
        }
        return hasher.finalize().hexString
    }

    private static func update(_ hasher: inout SHA256, _ field: String) {
        let bytes = Data(field.utf8)
        withUnsafeBytes(of: UInt64(bytes.count).bigEndian) { hasher.update(bufferPointer: $0) }
        hasher.update(data: bytes)
    }
}
