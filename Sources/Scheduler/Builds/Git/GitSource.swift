/// A job's source when it is one commit of a git repository (a push webhook's build) rather than a
/// directory: stored in the job's `source` column as `git:<commit>:<ref>:<url>`, which no directory
/// source can look like (those are absolute paths). The ref is the branch the push was to (git ref
/// names cannot hold `:`), used only when a server refuses to hand out a commit by its id; the URL is
/// the registry's, never one taken from a webhook's body.
public struct GitSource: Sendable, Equatable {
    /// The repository: an https/ssh/git URL or a local path (tests use a local bare repository).
    public var url: String
    /// The full commit id, 40 (SHA-1) or 64 (SHA-256) lower-case hex digits.
    public var commit: String
    /// `refs/heads/<branch>`.
    public var ref: String

    static let prefix = "git:"

    public init(url: String, commit: String, ref: String) throws(SchedulerError) {
        guard Self.isCommitID(commit) else { throw .invalidSource("commit \(commit) is not a full commit id") }
        guard Self.isValidRef(ref) else { throw .invalidSource("ref \(ref) is not a branch ref") }
        guard !url.isEmpty, url.utf8.count <= 2048, !url.hasPrefix("-"),
            !url.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
        else {
            throw .invalidSource("git URL is empty, too long, starts with '-' or holds control characters")
        }
        self.url = url
        self.commit = commit
        self.ref = ref
    }

    /// Reads a job's source; nil when it is not a git source (a directory).
    public init?(encoded: String) {
        guard encoded.hasPrefix(Self.prefix) else { return nil }
        let parts = encoded.dropFirst(Self.prefix.count).split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let parsed = try? GitSource(url: String(parts[2]), commit: String(parts[0]), ref: String(parts[1])) else {
            return nil
        }
        self = parsed
    }

    /// The form stored as the job's source.
    public var encoded: String { Self.prefix + commit + ":" + ref + ":" + url }

    /// True for 40 or 64 lower-case hex digits, not all zero (a deletion's `after`).
    public static func isCommitID(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 40 || bytes.count == 64 else { return false }
        guard bytes.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else { return false }
        return bytes.contains { $0 != 0x30 }
    }

    /// `refs/heads/<name>` with a name git itself would accept for a branch (a conservative subset).
    static func isValidRef(_ ref: String) -> Bool {
        guard ref.hasPrefix("refs/heads/"), ref.utf8.count <= 255 else { return false }
        let name = ref.dropFirst("refs/heads/".count)
        guard !name.isEmpty, !name.hasPrefix("-"), !name.hasPrefix("/"), !name.hasSuffix("/"), !name.hasSuffix(".lock"),
            !name.contains(".."), !name.contains("//"), !name.contains("@{")
        else { return false }
        return name.unicodeScalars.allSatisfy { scalar in
            scalar.value > 0x20 && scalar.value != 0x7F && !"~^:?*[\\".unicodeScalars.contains(scalar)
        }
    }
}
