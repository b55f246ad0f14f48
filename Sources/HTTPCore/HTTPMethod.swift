/// A request method (RFC 9110 §9). The methods a static edge meets are cases; anything else is
/// kept as its raw token bytes in `.other`, so an unknown method can still be answered with 405/501.
public enum HTTPMethod: Sendable, Hashable {
    case get, head, post, put, delete, options, trace, connect, patch
    /// Any other valid token, byte for byte (methods are case-sensitive: `get` is not `GET`).
    case other([UInt8])

    /// The method token as text, e.g. "GET".
    public var name: String {
        switch self {
        case .get: "GET"
        case .head: "HEAD"
        case .post: "POST"
        case .put: "PUT"
        case .delete: "DELETE"
        case .options: "OPTIONS"
        case .trace: "TRACE"
        case .connect: "CONNECT"
        case .patch: "PATCH"
        case .other(let bytes): String(decoding: bytes, as: UTF8.self)
        }
    }

    /// Recognises a method token (already validated as a token). Case-sensitive (RFC 9110 §9.1).
    static func recognise(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> HTTPMethod {
        let n = end - start
        @inline(__always) func at(_ i: Int) -> UInt8 { p[start + i] }
        switch n {
        case 3:
            if at(0) == 0x47, at(1) == 0x45, at(2) == 0x54 { return .get }  // GET
            if at(0) == 0x50, at(1) == 0x55, at(2) == 0x54 { return .put }  // PUT
        case 4:
            if at(0) == 0x48, at(1) == 0x45, at(2) == 0x41, at(3) == 0x44 { return .head }  // HEAD
            if at(0) == 0x50, at(1) == 0x4F, at(2) == 0x53, at(3) == 0x54 { return .post }  // POST
        case 5:
            if equals(p, start, "PATCH") { return .patch }
            if equals(p, start, "TRACE") { return .trace }
        case 6:
            if equals(p, start, "DELETE") { return .delete }
        case 7:
            if equals(p, start, "OPTIONS") { return .options }
            if equals(p, start, "CONNECT") { return .connect }
        default:
            break
        }
        return .other(Array(p[start..<end]))
    }

    static func equals(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        let lit = literal.utf8Start
        for i in 0..<count where p[start + i] != lit[i] { return false }
        return true
    }
}

extension HTTPMethod: CustomStringConvertible {
    public var description: String { name }
}
