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

    /// The code of a known method token in `p[start..<end]` (1...9, in case order), or 0 for any
    /// other token. Case-sensitive (RFC 9110 §9.1). Codes keep the parser's hot path free of the
    /// reference-counted `.other` payload; `init(code:bytes:)` makes the enum when asked for.
    static func code(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> UInt8 {
        let n = end - start
        @inline(__always) func at(_ i: Int) -> UInt8 { p[start + i] }
        switch n {
        case 3:
            if at(0) == 0x47, at(1) == 0x45, at(2) == 0x54 { return 1 }  // GET
            if at(0) == 0x50, at(1) == 0x55, at(2) == 0x54 { return 4 }  // PUT
        case 4:
            if at(0) == 0x48, at(1) == 0x45, at(2) == 0x41, at(3) == 0x44 { return 2 }  // HEAD
            if at(0) == 0x50, at(1) == 0x4F, at(2) == 0x53, at(3) == 0x54 { return 3 }  // POST
        case 5:
            if equals(p, start, "PATCH") { return 9 }
            if equals(p, start, "TRACE") { return 7 }
        case 6:
            if equals(p, start, "DELETE") { return 5 }
        case 7:
            if equals(p, start, "OPTIONS") { return 6 }
            if equals(p, start, "CONNECT") { return 8 }
        default:
            break
        }
        return 0
    }

    /// The method for a code from `code(_:_:_:)`; `token` is only read for code 0.
    init(code: UInt8, token: ArraySlice<UInt8>) {
        switch code {
        case 1: self = .get
        case 2: self = .head
        case 3: self = .post
        case 4: self = .put
        case 5: self = .delete
        case 6: self = .options
        case 7: self = .trace
        case 8: self = .connect
        case 9: self = .patch
        default: self = .other(Array(token))
        }
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
