import Foundation

/// A fresh directory under the system's temporary directory for one test (mode 0755 by the usual
/// umask, so an unprivileged build user can pass through it); `remove()` deletes it.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init(prefix: String = "wharf-tests") throws {
        path = NSTemporaryDirectory() + prefix + "-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    public func remove() { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `contents` to `name` (a relative path; parent directories are made).
    public func file(_ name: String, _ contents: String) throws {
        let url = URL(fileURLWithPath: path).appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(contents.utf8).write(to: url)
    }
}
