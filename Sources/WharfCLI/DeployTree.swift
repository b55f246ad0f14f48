import ArgumentParser
import ArtifactStore
import Deploy
import Foundation
import Glibc

/// The files of a directory to deploy, hashed: relative paths, sizes and SHA-256, read in
/// chunks (never a whole file in memory). Symbolic links are followed only inside the directory;
/// anything but regular files and directories is refused, like `wharf publish` does.
struct DeployTree {
    struct File {
        var path: String
        var localPath: String
        var size: Int64
        var sha256: String
    }

    var files: [File]

    var manifest: UploadManifest {
        UploadManifest(files: files.map { .init(path: $0.path, sha256: $0.sha256, size: $0.size) })
    }

    /// One local file per hash (the one to upload when the server lacks it).
    var fileByHash: [String: File] { Dictionary(files.map { ($0.sha256, $0) }, uniquingKeysWith: { a, _ in a }) }

    var totalBytes: Int64 { files.reduce(0) { $0 + $1.size } }

    static func scan(_ directory: String) throws -> DeployTree {
        let root = URL(fileURLWithPath: directory).standardizedFileURL.resolvingSymlinksInPath().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("\(directory) is not a directory")
        }
        var files: [File] = []
        try walk(root, relative: "", root: root, into: &files)
        guard !files.isEmpty else { throw ValidationError("\(directory) has no files to deploy") }
        return DeployTree(files: files.sorted { $0.path < $1.path })
    }

    private static func walk(_ directory: String, relative: String, root: String, into files: inout [File]) throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: directory).sorted() {
            let full = directory + "/" + name
            let path = relative.isEmpty ? name : relative + "/" + name
            let real = URL(fileURLWithPath: full).resolvingSymlinksInPath().path
            guard real == root || real.hasPrefix(root + "/") else {
                throw ValidationError("\(path) is a symbolic link out of the directory")
            }
            var info = stat()
            guard stat(real, &info) == 0 else { throw ValidationError("\(path): \(String(cString: strerror(errno)))") }
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                guard real != directory, !directory.hasPrefix(real + "/") else { continue }  // a link to an ancestor
                try walk(real, relative: path, root: root, into: &files)
            case S_IFREG:
                files.append(File(path: path, localPath: real, size: Int64(info.st_size), sha256: try hash(real)))
            default:
                throw ValidationError("\(path) is not a regular file")
            }
        }
    }

    static func hash(_ path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ValidationError("cannot read \(path)") }
        defer { try? handle.close() }
        var hasher = ContentHash()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            chunk.withUnsafeBytes { hasher.update($0) }
        }
        return hasher.finalizeHex()
    }
}
