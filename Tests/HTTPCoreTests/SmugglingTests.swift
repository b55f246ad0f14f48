import Testing

@testable import HTTPCore

/// A hostile request and the rejection it must get.
struct HostileRequest: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]
    let error: ParseError
    init(_ name: String, _ text: String, _ error: ParseError) {
        self.name = name
        self.bytes = Array(text.utf8)
        self.error = error
    }
    init(_ name: String, bytes: [UInt8], _ error: ParseError) {
        self.name = name
        self.bytes = bytes
        self.error = error
    }
    var testDescription: String { name }
}

private let head = "POST / HTTP/1.1\r\nHost: a\r\n"
private let chunkedHead = head + "Transfer-Encoding: chunked\r\n\r\n"

let hostileRequests: [HostileRequest] = [
    // Content-Length and Transfer-Encoding (RFC 9112 §6.3).
    .init("TE then CL", head + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", .contentLengthWithTransferEncoding),
    .init("CL then TE", head + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", .contentLengthWithTransferEncoding),
    .init("CL with unknown TE", head + "Content-Length: 5\r\nTransfer-Encoding: foo\r\n\r\n", .contentLengthWithTransferEncoding),
    .init("differing CL fields", head + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", .duplicateContentLength),
    .init("identical CL fields", head + "Content-Length: 5\r\nContent-Length: 5\r\n\r\n", .duplicateContentLength),
    .init("second CL field after others", head + "Content-Length: 0\r\nX: y\r\ncontent-length: 0\r\n\r\n", .duplicateContentLength),
    .init("differing CL list", head + "Content-Length: 5, 6\r\n\r\n", .conflictingContentLength),
    .init("CL with plus sign", head + "Content-Length: +5\r\n\r\n", .invalidContentLength),
    .init("negative CL", head + "Content-Length: -1\r\n\r\n", .invalidContentLength),
    .init("hex CL", head + "Content-Length: 0x10\r\n\r\n", .invalidContentLength),
    .init("CL with inner space", head + "Content-Length: 1 0\r\n\r\n", .invalidContentLength),
    .init("empty CL", head + "Content-Length:\r\n\r\n", .invalidContentLength),
    .init("CL with empty list element", head + "Content-Length: 5,\r\n\r\n", .invalidContentLength),
    .init("CL with 20 digits", head + "Content-Length: 99999999999999999999\r\n\r\n", .invalidContentLength),
    // Transfer-Encoding lists (RFC 9112 §6.1, §7).
    .init("chunked then gzip", head + "Transfer-Encoding: chunked, gzip\r\n\r\n", .transferEncodingNotChunkedLast),
    .init("only gzip", head + "Transfer-Encoding: gzip\r\n\r\n", .transferEncodingNotChunkedLast),
    .init("chunked field then gzip field", head + "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", .transferEncodingNotChunkedLast),
    .init("chunked twice", head + "Transfer-Encoding: chunked, chunked\r\n\r\n", .chunkedAppliedTwice),
    .init("gzip then chunked", head + "Transfer-Encoding: gzip, chunked\r\n\r\n", .unsupportedTransferCoding),
    .init("unknown coding then chunked", head + "Transfer-Encoding: x-custom, chunked\r\n\r\n", .unsupportedTransferCoding),
    .init("empty TE", head + "Transfer-Encoding:\r\n\r\n", .invalidTransferCoding),
    .init("chunked with parameters", head + "Transfer-Encoding: chunked;q=1\r\n\r\n", .invalidTransferCoding),
    .init("TE with a quoted coding", head + "Transfer-Encoding: \"chunked\"\r\n\r\n", .invalidTransferCoding),
    .init("TE with vertical tab", head + "Transfer-Encoding: \u{0B}chunked\r\n\r\n", .invalidFieldValue),
    .init("TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", .transferEncodingInHTTP10),
    // Field syntax (RFC 9112 §5).
    .init("space before colon", "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n", .whitespaceBeforeColon),
    .init("tab before colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", .whitespaceBeforeColon),
    .init("space inside name", "GET / HTTP/1.1\r\nHost: a\r\nTransfer Encoding: chunked\r\n\r\n", .invalidFieldName),
    .init("obs-fold of TE", head + "Transfer-Encoding:\r\n chunked\r\n\r\n", .obsoleteLineFolding),
    .init("obs-fold with tab", "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n\tmore\r\n\r\n", .obsoleteLineFolding),
    .init("whitespace before first field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", .whitespaceBeforeFirstField),
    .init("empty field name", "GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", .invalidFieldName),
    .init("missing colon", "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", .missingColon),
    .init("NUL in field name", bytes: Array("GET / HTTP/1.1\r\nHost: a\r\nX".utf8) + [0] + Array("Y: 1\r\n\r\n".utf8), .invalidFieldName),
    .init(
        "non-ASCII in field name", bytes: Array("GET / HTTP/1.1\r\nHost: a\r\nX".utf8) + [0xC3, 0xA9] + Array(": 1\r\n\r\n".utf8), .invalidFieldName),
    .init("DEL in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\u{7F}b\r\n\r\n", .invalidFieldValue),
    .init("escape byte in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\u{1B}[31m\r\n\r\n", .invalidFieldValue),
    .init("bare CR in a value", "GET / HTTP/1.1\r\nHost: a\rContent-Length: 5\r\n\r\n", .bareCarriageReturn),
    .init("bare CR in a name", "GET / HTTP/1.1\r\nHo\rst: a\r\n\r\n", .bareCarriageReturn),
    .init("bare CR in the request line", "GET /\r HTTP/1.1\r\nHost: a\r\n\r\n", .bareCarriageReturn),
    .init("bare LF after a field", "GET / HTTP/1.1\r\nHost: a\nX: 1\r\n\r\n", .bareLineFeed),
    .init("bare LF as the empty line", "GET / HTTP/1.1\r\nHost: a\r\n\n", .bareLineFeed),
    .init("bare LF before the request", "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", .bareLineFeed),
    .init("CR CR LF", "GET / HTTP/1.1\r\nHost: a\r\r\n\r\n", .bareCarriageReturn),
    .init("duplicate Host", "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", .duplicateHost),
    .init("missing Host in HTTP/1.1", "GET / HTTP/1.1\r\n\r\n", .missingHost),
    // Request line (RFC 9112 §3).
    .init("double space after method", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", .invalidRequestLine),
    .init("leading space", " GET / HTTP/1.1\r\nHost: a\r\n\r\n", .invalidRequestLine),
    .init("HTTP/0.9 style line", "GET /\r\n\r\n", .invalidRequestLine),
    .init("method only", "GET\r\n\r\n", .invalidRequestLine),
    .init("trailing space after version", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", .invalidVersion),
    .init("lower-case protocol", "GET / http/1.1\r\nHost: a\r\n\r\n", .invalidVersion),
    .init("two-digit minor version", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", .invalidVersion),
    .init("letter as version", "GET / HTTP/1.x\r\nHost: a\r\n\r\n", .invalidVersion),
    .init("tab in target", "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", .invalidRequestTarget),
    .init("non-ASCII in target", bytes: Array("GET /".utf8) + [0xFF] + Array(" HTTP/1.1\r\nHost: a\r\n\r\n".utf8), .invalidRequestTarget),
    .init("NUL in method", bytes: Array("GE".utf8) + [0] + Array("T / HTTP/1.1\r\nHost: a\r\n\r\n".utf8), .invalidMethod),
    .init("HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", .http2Preface),
    .init("HTTP/2.0 GET", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", .unsupportedVersion),
    .init("HTTP/0.9 version", "GET / HTTP/0.9\r\nHost: a\r\n\r\n", .unsupportedVersion),
    .init("HTTP/1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", .unsupportedMinorVersion),
    .init("HTTP/1.9", "GET / HTTP/1.9\r\nHost: a\r\n\r\n", .unsupportedMinorVersion),
    .init("bare CR and a bad name in one line", "GET / HTTP/1.1\r\nHo@st: a\rb\r\n\r\n", .bareCarriageReturn),
    .init("bare CR then bare LF", "GET / HTTP/1.1\r\nHost: a\rb\n\r\n", .bareCarriageReturn),
    .init("bare CR in a bad request line", "G@T /\rx HTTP/1.1\r\nHost: a\r\n\r\n", .bareCarriageReturn),
    .init("obs-fold holding a bare CR", "GET / HTTP/1.1\r\nHost: a\r\n x\ry\r\n\r\n", .obsoleteLineFolding),
    // Chunked framing (RFC 9112 §7.1).
    .init("chunk size overflow", chunkedHead + "10000000000000000\r\n", .chunkSizeOverflow),
    .init("chunk size with 0x prefix", chunkedHead + "0x5\r\nhello\r\n0\r\n\r\n", .invalidChunkSize),
    .init("negative chunk size", chunkedHead + "-5\r\nhello\r\n0\r\n\r\n", .invalidChunkSize),
    .init("chunk size with leading space", chunkedHead + " 5\r\nhello\r\n0\r\n\r\n", .invalidChunkSize),
    .init("empty chunk size line", chunkedHead + "\r\nhello\r\n0\r\n\r\n", .invalidChunkSize),
    .init("chunk size followed by junk", chunkedHead + "5g\r\nhello\r\n0\r\n\r\n", .invalidChunkSize),
    .init("chunk extension without semicolon", chunkedHead + "5 x\r\nhello\r\n0\r\n\r\n", .invalidChunkExtension),
    .init("chunk extension without name", chunkedHead + "5;\r\nhello\r\n0\r\n\r\n", .invalidChunkExtension),
    .init("chunk extension with empty value", chunkedHead + "5;a=\r\nhello\r\n0\r\n\r\n", .invalidChunkExtension),
    .init("chunk extension with open quote", chunkedHead + "5;a=\"x\r\nhello\r\n0\r\n\r\n", .invalidChunkExtension),
    .init("chunk extension with control byte", chunkedHead + "5;a=\"\u{01}\"\r\nhello\r\n0\r\n\r\n", .invalidChunkExtension),
    .init("bare CR in chunk line", chunkedHead + "5\r;a\r\nhello\r\n0\r\n\r\n", .bareCarriageReturn),
    .init("bare LF after chunk size", chunkedHead + "5\nhello\r\n0\r\n\r\n", .bareLineFeed),
    .init("chunk data longer than its size", chunkedHead + "3\r\nhello\r\n0\r\n\r\n", .missingChunkTerminator),
    .init("chunk data with LF only terminator", chunkedHead + "3\r\nabc\n0\r\n\r\n", .missingChunkTerminator),
    .init("obs-fold in trailers", chunkedHead + "0\r\nX: 1\r\n 2\r\n\r\n", .obsoleteLineFolding),
    .init("bad trailer name", chunkedHead + "0\r\nX Y: 1\r\n\r\n", .invalidFieldName),
    .init("bare LF ending trailers", chunkedHead + "0\r\n\n", .bareLineFeed),
    .init("bare CR in a trailer", chunkedHead + "0\r\nX: 1\r2\r\n\r\n", .bareCarriageReturn),
    .init("bare CR then LF-less chunk line", chunkedHead + "5\rx\nhello\r\n0\r\n\r\n", .bareCarriageReturn),
]

@Suite struct SmugglingTests {
    @Test(arguments: hostileRequests)
    func hostileRequestsAreRejectedWithTheirReason(request: HostileRequest) {
        let outcome = Feed.whole(request.bytes)
        #expect(outcome.error == request.error)
        #expect(outcome.completeCount == 0)
    }

    @Test(arguments: hostileRequests)
    func hostileRequestsAreRejectedTheSameWayByteByByte(request: HostileRequest) {
        let whole = Feed.whole(request.bytes)
        #expect(Feed.pieces(request.bytes, cuts: Array(0...request.bytes.count)) == whole)
    }

    @Test func anUnderscoredTransferEncodingIsAnOrdinaryFieldNotFraming() throws {
        let head = try singleHead("POST / HTTP/1.1\r\nHost: a\r\nTransfer_Encoding: chunked\r\n\r\n")
        #expect(head.body == .none)
        #expect(head.value(of: .transferEncoding) == nil)
        #expect(string(head.value(ofName: "transfer_encoding")) == "chunked")
    }

    @Test func identicalContentLengthsInAListAreAccepted() throws {
        let head = try singleHead("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc")
        #expect(head.body == .contentLength(3))
    }

    @Test func chunkedIsCaseInsensitiveAndMayCloseAList() throws {
        let head = try singleHead("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,  Chunked ,\r\n\r\n0\r\n\r\n")
        #expect(head.body == .chunked)
    }

    @Test func aRejectedRequestNeverLeaksItsBodyAsTheNextRequest() {
        // The classic CL.TE attack: the "G" must never be parsed as the start of a request.
        let outcome = Feed.whole(head + "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG")
        #expect(outcome.messages.isEmpty)
        #expect(outcome.error == .contentLengthWithTransferEncoding)
    }

    @Test func everyRejectionNamesItsReasonAndMapsToAStatus() {
        let statuses = Set(hostileRequests.map(\.error.status))
        #expect(statuses.isSubset(of: [400, 501, 505]))
        for request in hostileRequests { #expect(!request.error.description.isEmpty) }
        #expect(ParseError.unsupportedTransferCoding.status == 501)
        #expect(ParseError.http2Preface.status == 505)
        #expect(ParseError.unsupportedVersion.status == 505)
        #expect(ParseError.bareLineFeed.status == 400)
    }
}
