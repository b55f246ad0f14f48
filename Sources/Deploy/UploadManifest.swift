/// The list of files a client wants to deploy: relative paths with their SHA-256 and size, each
/// checked before any byte is accepted. Refused with 400: path traversal (`..`, `.`, empty
/// segments), absolute paths, backslashes, NUL and other control characters, duplicate paths, a
/// path that is both a file and a directory, malformed hashes; with 413: more files or bytes
/// than the quota.
public struct UploadManifest: Sendable, Equatable, Codable {
    public struct File: Sendable, Equatable, Codable {
        /// Relative, `/`-separated (`assets/app.js`).
        public var path: String
        public var sha256: String
        public var size: Int64

        public init(path: String, sha256: String, size: Int64) {
            self.path = path
            self.sha256 = sha256
            self.size = size
        }
    }

    public var files: [File]
    public var version: String?
    public var message: String?

    public init(files: [File], version: String? = nil, message: String? = nil) {
        self.files = files
        self.version = version
        self.message = message
    }

    /// Distinct content hashes with their sizes.
    public var blobs: [String: Int64] {
        Dictionary(files.map { ($0.sha256, $0.size) }, uniquingKeysWith: { a, _ in a })
    }

    public var totalBytes: Int64 { files.reduce(0) { $0 + $1.size } }

    /// Parses and checks a manifest body against `limits` (the app's quota already applied).
    static func parse(_ body: [UInt8], limits: UploadLimits) throws(DeployError) -> UploadManifest {
        let json = try JSONFields(body)
        try json.allowOnly(["files", "version", "message"])
        guard let entries = try json.objects("files") else { throw DeployError(400, "wrong shape: \"files\" (an array) is required") }
        guard !entries.isEmpty else { throw DeployError(400, "a deployment needs at least one file") }
        guard entries.count <= limits.maxFiles else {
            throw DeployError(413, "\(entries.count) files is over this app's quota of \(limits.maxFiles)")
        }
        let version = try json.string("version")
        let message = try json.string("message")
        for (key, value) in [("version", version), ("message", message)] {
            if let value, value.utf8.count > 1024 || value.utf8.contains(0) { throw DeployError(400, "\"\(key)\" must be ≤ 1024 bytes without NUL") }
        }
        var files: [File] = []
        var seen = Set<String>()
        var total: Int64 = 0
        for entry in entries {
            let fields = JSONFields(object: entry)
            try fields.allowOnly(["path", "sha256", "size"])
            guard let path = try fields.string("path"), let hash = try fields.string("sha256"), let size = try fields.integer("size") else {
                throw DeployError(400, "wrong shape: each file needs \"path\", \"sha256\" and \"size\"")
            }
            try checkPath(path, limit: limits.maxPathBytes)
            guard isHash(hash) else { throw DeployError(400, "\"\(path)\": sha256 must be 64 lower-case hex digits") }
            guard size >= 0 else { throw DeployError(400, "\"\(path)\": size must not be negative") }
            guard size <= limits.maxFileBytes else {
                throw DeployError(413, "\"\(path)\": \(size) bytes is over the per-file limit of \(limits.maxFileBytes)")
            }
            guard seen.insert(path).inserted else { throw DeployError(400, "duplicate path \"\(path)\"") }
            total += size
            guard total <= limits.maxBytes else {
                throw DeployError(413, "the files add up to more than this app's quota of \(limits.maxBytes) bytes")
            }
            files.append(File(path: path, sha256: hash, size: size))
        }
        // "a" and "a/b" cannot both be files.
        for file in files {
            var prefix = Substring(file.path)
            while let slash = prefix.lastIndex(of: "/") {
                prefix = prefix[..<slash]
                if seen.contains(String(prefix)) {
                    throw DeployError(400, "\"\(prefix)\" is both a file and a directory")
                }
            }
        }
        return UploadManifest(files: files.sorted { $0.path < $1.path }, version: version, message: message)
    }

    /// A relative path of non-empty segments other than `.` and `..`, without backslashes or
    /// control characters (NUL included), valid UTF-8 by construction (it came from JSON).
    static func checkPath(_ path: String, limit: Int) throws(DeployError) {
        let shown = String(path.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? "?" : Character($0) }.prefix(200))
        guard !path.isEmpty, path.utf8.count <= limit else { throw DeployError(400, "path \"\(shown)\" is empty or too long") }
        guard !path.hasPrefix("/") else { throw DeployError(400, "path \"\(shown)\" is absolute; paths are relative to the deployment root") }
        guard !path.utf8.contains(0x5c) else { throw DeployError(400, "path \"\(shown)\" contains a backslash") }
        guard !path.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f }) else {
            throw DeployError(400, "path \"\(shown)\" contains a control character")
        }
        for segment in path.split(separator: "/", omittingEmptySubsequences: false) {
            guard !segment.isEmpty, segment != ".", segment != ".." else {
                throw DeployError(400, "path \"\(shown)\" has an empty, '.' or '..' segment")
            }
        }
    }

    static func isHash(_ s: String) -> Bool {
        s.utf8.count == 64 && s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }
}
