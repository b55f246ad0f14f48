/// The protocol version of a request line. Only HTTP/1.x reaches a `RequestHead`: the parser
/// answers HTTP/2 and any other major version with `ParseError.unsupportedVersion` (505).
public struct HTTPVersion: Sendable, Hashable, CustomStringConvertible {
    public var major: UInt8
    public var minor: UInt8

    public init(major: UInt8, minor: UInt8) {
        self.major = major
        self.minor = minor
    }

    public static let http1_0 = HTTPVersion(major: 1, minor: 0)
    public static let http1_1 = HTTPVersion(major: 1, minor: 1)

    /// HTTP/1.1 semantics (persistent connections by default, chunked allowed) apply to 1.1 and to
    /// any higher 1.x minor version (RFC 9110 §6.2: answer with the highest version we support).
    public var isAtLeast1_1: Bool { major > 1 || (major == 1 && minor >= 1) }

    public var description: String { "HTTP/\(major).\(minor)" }
}
