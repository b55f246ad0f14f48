internal import CLibUV

/// A libuv error code (always negative, e.g. `UV_EAGAIN`), as an open set with named constants.
///
/// libuv reports every failure as a negative `int`; this keeps the code (so callers can compare
/// against `.eagain`, `.eof`, …) and describes it with libuv's own name and message.
public struct UVError: Error, RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// libuv's symbolic name, e.g. `ECONNRESET`.
    public var name: String { String(cString: uv_err_name(rawValue)) }

    /// e.g. `ECONNRESET: connection reset by peer`.
    public var description: String { "\(name): \(String(cString: uv_strerror(rawValue)))" }

    /// A POSIX errno (positive, as in `errno`) converted to libuv's convention.
    public init(errno code: Int32) { self.init(rawValue: uv_translate_sys_error(code)) }

    /// Lets `catch UVError.eaddrinuse { … }` match a thrown `UVError` by code.
    public static func ~= (pattern: UVError, value: any Error) -> Bool {
        (value as? UVError) == pattern
    }

    public static let eagain = UVError(rawValue: UV_EAGAIN.rawValue)
    public static let eof = UVError(rawValue: UV_EOF.rawValue)
    public static let econnreset = UVError(rawValue: UV_ECONNRESET.rawValue)
    public static let econnrefused = UVError(rawValue: UV_ECONNREFUSED.rawValue)
    public static let eaddrinuse = UVError(rawValue: UV_EADDRINUSE.rawValue)
    public static let eaddrnotavail = UVError(rawValue: UV_EADDRNOTAVAIL.rawValue)
    public static let epipe = UVError(rawValue: UV_EPIPE.rawValue)
    public static let ecanceled = UVError(rawValue: UV_ECANCELED.rawValue)
    public static let ebusy = UVError(rawValue: UV_EBUSY.rawValue)
    public static let einval = UVError(rawValue: UV_EINVAL.rawValue)
    public static let enoent = UVError(rawValue: UV_ENOENT.rawValue)
    public static let eacces = UVError(rawValue: UV_EACCES.rawValue)
    public static let ebadf = UVError(rawValue: UV_EBADF.rawValue)
    public static let esrch = UVError(rawValue: UV_ESRCH.rawValue)
    public static let etimedout = UVError(rawValue: UV_ETIMEDOUT.rawValue)
    public static let enotconn = UVError(rawValue: UV_ENOTCONN.rawValue)
    public static let emfile = UVError(rawValue: UV_EMFILE.rawValue)
    public static let enomem = UVError(rawValue: UV_ENOMEM.rawValue)
    public static let eisdir = UVError(rawValue: UV_EISDIR.rawValue)
    public static let eio = UVError(rawValue: UV_EIO.rawValue)
    public static let eproto = UVError(rawValue: UV_EPROTO.rawValue)
}
