import ArtifactStore
import Foundation
import Glibc

/// Where uploads wait to be published, beside the store:
/// ```
/// <store>/uploads/incoming/        bodies being received (the admin listener's temporary files)
/// <store>/uploads/blobs/<sha256>   verified blobs not yet in a deployment
/// <store>/uploads/sessions/<id>    one JSON file per deploy session (manifest, state)
/// <store>/uploads/trees/<id>/      the tree a finalize hands to the publisher
/// ```
/// A staged blob's name is its verified SHA-256, so a re-run deploy (a resumed one) finds what an
/// interrupted one uploaded and does not ask for it again.
public struct UploadArea: Sendable {
    public let root: String

    public init(storePath: String) throws {
        root = storePath + "/uploads"
        for dir in [root, incoming, root + "/blobs", root + "/sessions", root + "/trees"] {
            try FileManager.default.createDirectory(
                atPath: dir, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
        }
    }

    /// The admin listener's temporary files for upload bodies.
    public var incoming: String { root + "/incoming" }

    func blobPath(_ hash: String) -> String { root + "/blobs/" + hash }
    func sessionPath(_ id: String) -> String { root + "/sessions/" + id + ".json" }
    func treePath(_ id: String) -> String { root + "/trees/" + id }

    func hasStagedBlob(_ hash: String) -> Bool { access(blobPath(hash), F_OK) == 0 }

    /// Moves a verified body into place under its hash (keeping an existing one).
    func stage(file: String, hash: String) throws {
        guard rename(file, blobPath(hash)) == 0 else {
            throw DeployError(507, "cannot stage blob \(hash): \(String(cString: strerror(errno)))")
        }
    }

    func removeStagedBlob(_ hash: String) { unlink(blobPath(hash)) }

    // MARK: sessions

    /// A deploy in progress or done: its app, manifest and, once finalized, its deployment.
    struct Session: Codable, Sendable {
        var id: String
        var app: String
        var manifest: UploadManifest
        var createdAt: Int64
        var createdBy: String
        var deployment: String?
    }

    func save(_ session: Session) throws {
        let data = try JSONEncoder().encode(session)
        let temp = sessionPath(session.id) + ".tmp"
        guard FileManager.default.createFile(atPath: temp, contents: data, attributes: [.posixPermissions: 0o600]),
            rename(temp, sessionPath(session.id)) == 0
        else {
            throw DeployError(507, "cannot save deploy session \(session.id)")
        }
    }

    func session(_ id: String) -> Session? {
        guard id.utf8.count == 16, id.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }),
            let data = FileManager.default.contents(atPath: sessionPath(id))
        else { return nil }
        return try? JSONDecoder().decode(Session.self, from: data)
    }
}

extension UploadArea {
    /// Removes what abandoned deploys left: bodies in `incoming/`, staged blobs and trees older
    /// than `seconds`, and session files older than `sessionSeconds`. Returns how many went.
    /// (`wharf gc` runs it; a deploy in progress is far younger than the default day.)
    public func sweep(
        olderThan seconds: Double = 86_400, sessionsOlderThan sessionSeconds: Double = 7 * 86_400,
        now: Date = Date()
    ) -> Int {
        var removed = 0
        let fm = FileManager.default
        for (dir, age) in [(incoming, seconds), (root + "/blobs", seconds), (root + "/trees", seconds), (root + "/sessions", sessionSeconds)] {
            for name in (try? fm.contentsOfDirectory(atPath: dir)) ?? [] {
                let path = dir + "/" + name
                guard let modified = (try? fm.attributesOfItem(atPath: path))?[.modificationDate] as? Date,
                    now.timeIntervalSince(modified) > age
                else { continue }
                if (try? fm.removeItem(atPath: path)) != nil { removed += 1 }
            }
        }
        return removed
    }
}
