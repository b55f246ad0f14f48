import ArtifactStore
import Foundation
import Glibc
import Synchronization

extension UploadAPI {
    /// `POST|PUT /_wharf/api/apps/{app}/archives[?promote=1&version=V&message=M]`: a whole tree as
    /// one tar, tar.gz, tar.zst or zip body (streamed to a file by the admin listener), unpacked entry
    /// by entry into verified staged blobs, then published like a finalized session. Every path
    /// is checked like a manifest path; links, devices and other special entries, duplicate paths,
    /// more files or bytes than the app's quota (counted while unpacking, so a compression bomb
    /// stops at the quota), a file outside the app's MIME allow-list (415) are refused with the
    /// store unchanged and nothing left staged.
    public func archive(_ request: DeployRequest) -> DeployResponse {
        counted {
            let (app, grant) = try authorize(request, need: .deploy)
            guard let upload = request.upload else { throw DeployError(400, "an archive body is required") }
            if let header = request.headers["content-digest"] {
                guard ContentDigest.sha256Hex(fromHeader: header) == upload.sha256 else {
                    throw DeployError(422, "the archive's SHA-256 does not match its Content-Digest")
                }
            }
            let promote = ["1", "true", "yes"].contains(request.query["promote"]?.lowercased() ?? "")
            for key in ["version", "message"] {
                if let v = request.query[key], v.utf8.count > 1024 { throw DeployError(400, "\(key) is longer than 1024 bytes") }
            }
            let quota = limits(for: app)
            var staged: [String] = []
            do {
                let files = try unpack(upload.path, quota: quota, allowed: AllowedTypes(app.allowedTypes), staged: &staged)
                var session = UploadArea.Session(
                    id: DeployToken.randomHex(bytes: 8), app: app.name,
                    manifest: UploadManifest(
                        files: files.sorted { $0.path < $1.path }, version: request.query["version"],
                        message: request.query["message"]),
                    createdAt: Int64(Date().timeIntervalSince1970), createdBy: grant.label)
                try area.save(session)
                metrics.sessions.add(1, ordering: .relaxed)
                return try publish(&session, app: app, grant: grant, promote: promote)
            } catch {
                for hash in staged { area.removeStagedBlob(hash) }
                throw error
            }
        }
    }

    /// Reads the archive's files into staged blobs; `staged` collects the blobs this call added.
    private func unpack(_ path: String, quota: UploadLimits, allowed: AllowedTypes, staged: inout [String]) throws -> [UploadManifest.File] {
        // Headers and padding are bounded by the file count; the content by the byte quota.
        let headerAllowance = 1536 * (quota.maxFiles + 16)
        let source = try ArchiveSource(path: path, limit: Int(quota.maxBytes) + headerAllowance)
        if source.format == "zip" {
            var reader = ZipReader(source: source)
            return try unpack(&reader, quota: quota, allowed: allowed, staged: &staged)
        }
        var reader = TarReader(source: source)
        return try unpack(&reader, quota: quota, allowed: allowed, staged: &staged)
    }

    /// The entries of `reader` as staged blobs. Sizes an archive does not state up front (zip
    /// entries with data descriptors) are bounded while they are inflated, against the per-file
    /// limit and what is left of the app's byte quota.
    private func unpack<Reader: ArchiveEntryReader>(
        _ reader: inout Reader, quota: UploadLimits, allowed: AllowedTypes,
        staged: inout [String]
    ) throws -> [UploadManifest.File] {
        var files: [UploadManifest.File] = []
        var seen = Set<String>()
        var total: Int64 = 0
        while let entry = try reader.nextEntry() {
            try UploadManifest.checkPath(entry.path, limit: quota.maxPathBytes)
            // Before any of its bytes are staged.
            guard allowed.allows(path: entry.path) else { throw AllowedTypes.refusal(entry.path) }
            guard seen.insert(entry.path).inserted else { throw DeployError(400, "duplicate path \"\(entry.path)\" in the archive") }
            guard files.count < quota.maxFiles else {
                throw DeployError(413, "the archive has more files than this app's quota of \(quota.maxFiles)")
            }
            if let stated = entry.size {
                guard Int64(stated) <= quota.maxFileBytes else {
                    throw DeployError(413, "\"\(entry.path)\": \(stated) bytes is over the per-file limit of \(quota.maxFileBytes)")
                }
                guard total + Int64(stated) <= quota.maxBytes else {
                    throw DeployError(413, "the archive's files add up to more than this app's quota of \(quota.maxBytes) bytes")
                }
            }
            let (hash, size) = try receive(
                &reader, into: area.incoming + "/archive-" + DeployToken.randomHex(bytes: 8),
                path: entry.path, quota: quota, before: total, staged: &staged)
            total += Int64(size)
            files.append(UploadManifest.File(path: entry.path, sha256: hash, size: Int64(size)))
        }
        guard !files.isEmpty else { throw DeployError(400, "the archive holds no files") }
        for file in files {
            var prefix = Substring(file.path)
            while let slash = prefix.lastIndex(of: "/") {
                prefix = prefix[..<slash]
                if seen.contains(String(prefix)) { throw DeployError(400, "\"\(prefix)\" is both a file and a directory in the archive") }
            }
        }
        return files
    }

    /// Writes one entry's bytes to `temp` while hashing them, then stages the blob by its hash
    /// (or drops the copy when the store or the staging area already has it).
    /// Counted as it arrives: over the per-file limit, or over the quota with the `before` bytes
    /// of earlier entries, is a 413 (a zip bomb stops there).
    private func receive<Reader: ArchiveEntryReader>(
        _ reader: inout Reader, into temp: String, path: String, quota: UploadLimits,
        before: Int64, staged: inout [String]
    ) throws -> (String, Int) {
        let fd = Glibc.open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw DeployError(507, "cannot unpack: \(String(cString: strerror(errno)))") }
        var hasher = ContentHash()
        var size = 0
        do {
            defer { Glibc.close(fd) }
            while true {
                let chunk = try reader.readContent(upTo: 256 << 10)
                if chunk.isEmpty { break }
                size += chunk.count
                guard Int64(size) <= quota.maxFileBytes else {
                    throw DeployError(413, "\"\(path)\" is over the per-file limit of \(quota.maxFileBytes) bytes")
                }
                guard before + Int64(size) <= quota.maxBytes else {
                    throw DeployError(413, "the archive's files add up to more than this app's quota of \(quota.maxBytes) bytes")
                }
                chunk.withUnsafeBytes { hasher.update($0) }
                let written = chunk.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                guard written == chunk.count else { throw DeployError(507, "cannot unpack: \(String(cString: strerror(errno)))") }
            }
        } catch {
            unlink(temp)
            throw error
        }
        let hash = hasher.finalizeHex()
        let inStore = try store.existingBlobs([hash]).contains(hash)
        if inStore || area.hasStagedBlob(hash) {
            unlink(temp)
        } else {
            try area.stage(file: temp, hash: hash)
            staged.append(hash)
            metrics.blobsUploaded.add(1, ordering: .relaxed)
            metrics.bytesUploaded.add(size, ordering: .relaxed)
        }
        return (hash, size)
    }
}
