/// Reading an origin's HTTP/1.1 responses: the head, then the body framed by `Content-Length`,
/// chunked coding, or the end of the connection. Pure (bytes in, bytes out), so hostile input
/// is tested without a socket. Anything malformed or over a limit throws `OriginError.malformed`
/// or `.tooLarge`; nothing is guessed.
public struct OriginResponseHead: Sendable, Equatable {
    public var status: Int
    public var contentLength: Int64?
    public var chunked: Bool
    /// Lower-cased field names with their values, in order.
    public var fields: [(name: String, value: String)]

    public static func == (a: Self, b: Self) -> Bool {
        a.status == b.status && a.contentLength == b.contentLength && a.chunked == b.chunked
            && a.fields.map(\.name) == b.fields.map(\.name) && a.fields.map(\.value) == b.fields.map(\.value)
    }

    /// The most a response head may hold.
    public static let maxBytes = 16 << 10

    /// Parses a complete head (status line and fields, without the final empty line).
    public static func parse(_ bytes: ArraySlice<UInt8>) throws(OriginError) -> OriginResponseHead {
        guard bytes.count <= maxBytes else { throw .tooLarge("response head over \(maxBytes) bytes") }
        guard bytes.allSatisfy({ $0 == 0x09 || $0 == 0x0D || $0 == 0x0A || ($0 >= 0x20 && $0 != 0x7F) }) else {
            throw .malformed("control characters in the response head")
        }
        let text = String(decoding: bytes, as: UTF8.self)
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: false)
        guard !lines.isEmpty else { throw .malformed("empty response head") }
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0] == "HTTP/1.1" || parts[0] == "HTTP/1.0",
            parts[1].utf8.count == 3, parts[1].utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            let status = Int(parts[1]), status >= 100
        else {
            throw .malformed("bad status line '\(statusLine.prefix(80))'")
        }
        var head = OriginResponseHead(status: status, contentLength: nil, chunked: false, fields: [])
        guard lines.count <= 100 else { throw .tooLarge("more than 100 response fields") }
        for line in lines {
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex,
                !line[..<colon].contains(where: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
            else {
                throw .malformed("bad response field '\(line.prefix(80))'")
            }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingASCIISpaces()
            guard !value.contains("\n"), !value.contains("\r") else { throw .malformed("bare CR or LF in a response field") }
            head.fields.append((name, value))
            switch name {
            case "content-length":
                guard head.contentLength == nil else { throw .malformed("two Content-Length fields") }
                guard !value.isEmpty, value.utf8.count <= 18, value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                    let length = Int64(value)
                else { throw .malformed("bad Content-Length '\(value.prefix(40))'") }
                head.contentLength = length
            case "transfer-encoding":
                guard value.lowercased() == "chunked", !head.chunked else {
                    throw .malformed("unsupported Transfer-Encoding '\(value.prefix(40))'")
                }
                head.chunked = true
            default:
                break
            }
        }
        if head.chunked && head.contentLength != nil { throw .malformed("both Content-Length and chunked") }
        return head
    }

    /// The first value of a field (name in lower case).
    public func field(_ name: String) -> String? { fields.first { $0.name == name }?.value }
}

/// Undoes chunked transfer coding (RFC 9112 §7.1) incrementally: chunk-size lines (hex, optional
/// extensions, at most 1 KiB), data, CRLF after each chunk, trailer lines (at most 8 KiB), end.
struct ChunkedDecoder: Sendable {
    enum State: Sendable, Equatable {
        case size
        case data(remaining: Int64)
        case dataEnd
        case trailer
        case done
    }
    private var state = State.size
    private var line: [UInt8] = []
    private var trailerBytes = 0

    public init() {}

    var isDone: Bool { state == .done }

    /// Feeds received bytes; decoded data goes to `emit`. Returns how many bytes were consumed
    /// (all of them unless the body ended; what follows the end is not part of it).
    @discardableResult
    public mutating func feed(_ input: UnsafeRawBufferPointer, _ emit: (UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        var i = 0
        while i < input.count {
            switch state {
            case .done:
                return i
            case .data(let remaining):
                let n = Int(min(Int64(input.count - i), remaining))
                try emit(UnsafeRawBufferPointer(rebasing: input[i..<(i + n)]))
                i += n
                state = remaining - Int64(n) == 0 ? .dataEnd : .data(remaining: remaining - Int64(n))
            case .size, .dataEnd, .trailer:
                let byte = input[i]
                i += 1
                if byte != 0x0A {
                    line.append(byte)
                    if line.count > (state == .trailer ? 8192 : 1024) { throw OriginError.malformed("chunked framing line too long") }
                    continue
                }
                guard line.last == 0x0D else { throw OriginError.malformed("bare LF in chunked framing") }
                line.removeLast()
                defer { line.removeAll(keepingCapacity: true) }
                switch state {
                case .dataEnd:
                    guard line.isEmpty else { throw OriginError.malformed("chunk data longer than its size") }
                    state = .size
                case .trailer:
                    trailerBytes += line.count
                    if trailerBytes > 8192 { throw OriginError.tooLarge("chunked trailer over 8 KiB") }
                    if line.isEmpty { state = .done }
                default:
                    let digits = line.prefix { $0 != 0x3B }  // ';' starts extensions
                    guard !digits.isEmpty, digits.count <= 15,
                        digits.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x66) }),
                        let size = Int64(String(decoding: digits, as: UTF8.self), radix: 16)
                    else {
                        throw OriginError.malformed("bad chunk size line")
                    }
                    state = size == 0 ? .trailer : .data(remaining: size)
                }
            }
        }
        return i
    }
}

/// Why a request to the origin failed.
public enum OriginError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Could not connect, or the connection broke.
    case unreachable(String)
    /// No answer (or no progress) within the time allowed.
    case timedOut(String)
    /// The origin answered with a status other than the one expected.
    case status(Int)
    /// The origin's answer does not follow HTTP or the replica protocol.
    case malformed(String)
    /// The answer is larger than what was asked for.
    case tooLarge(String)

    public var description: String {
        switch self {
        case .unreachable(let why): "origin unreachable: \(why)"
        case .timedOut(let what): "origin timed out: \(what)"
        case .status(let status): "origin answered \(status)"
        case .malformed(let why): "malformed origin response: \(why)"
        case .tooLarge(let why): "origin response too large: \(why)"
        }
    }
}

extension Substring {
    func trimmingASCIISpaces() -> String {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
