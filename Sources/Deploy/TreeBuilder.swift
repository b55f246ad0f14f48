import ArtifactStore
import Foundation
import Glibc

/// Lays out a manifest as a directory for the store's publisher: each path a hard link to its
/// staged upload or to the store's blob file, or (inline blobs) a small file written from the
/// store's bytes. Paths were checked when the manifest was accepted; directories are made 0700.
struct TreeBuilder {
    let store: Store
    let area: UploadArea

    func build(_ manifest: UploadManifest, at root: String) throws {
        try makeDirectory(root)
        for file in manifest.files {
            let target = root + "/" + file.path
            if let slash = file.path.lastIndex(of: "/") {
                try makeDirectory(root + "/" + file.path[..<slash], intermediate: true)
            }
            if area.hasStagedBlob(file.sha256) {
                try link(area.blobPath(file.sha256), target, hash: file.sha256)
                continue
            }
            let body: BodySource
            do {
                body = try store.body(hash: file.sha256)
            } catch {
                // Collected by a gc since the manifest was answered: the client re-runs and uploads it.
                throw DeployError(409, "blob \(file.sha256) left the store while publishing; deploy again")
            }
            switch body {
            case .file(let path, _, _):
                try link(path, target, hash: file.sha256)
            case .bytes(let bytes):
                guard FileManager.default.createFile(atPath: target, contents: Data(bytes), attributes: [.posixPermissions: 0o600]) else {
                    throw DeployError(507, "cannot write \(file.path) for publishing")
                }
            }
        }
    }

    private func makeDirectory(_ path: String, intermediate: Bool = false) throws {
        try FileManager.default.createDirectory(
            atPath: path, withIntermediateDirectories: intermediate,
            attributes: [.posixPermissions: 0o700])
    }

    private func link(_ source: String, _ target: String, hash: String) throws {
        guard Glibc.link(source, target) == 0 else {
            // Gone between the check and now (a concurrent gc or finalize): the client re-runs.
            throw DeployError(409, "blob \(hash) disappeared while publishing (\(String(cString: strerror(errno)))); deploy again")
        }
    }
}
