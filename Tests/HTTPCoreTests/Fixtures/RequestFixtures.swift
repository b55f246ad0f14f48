// Request fixtures: byte streams as a connection would receive them, with what parsing them must
// give. No test framework imports here: `scripts/fuzz.sh` also compiles this file to seed the
// fuzzer's corpus (in one module with the HTTPCore sources, hence the conditional import).
#if canImport(HTTPCore)
    import HTTPCore
#endif

/// One request stream and its expected outcome.
struct RequestFixture: Sendable {
    enum Expected: Sendable, Equatable {
        /// This many complete requests, no error, nothing left over.
        case requests(Int)
        /// This many complete requests, then this rejection.
        case rejected(after: Int, ParseError)
        /// This many complete requests, then an incomplete one waiting for more bytes.
        case incomplete(after: Int)
    }

    let name: String
    let bytes: [UInt8]
    let expected: Expected

    init(_ name: String, _ text: String, _ expected: Expected) {
        self.name = name
        self.bytes = Array(text.utf8)
        self.expected = expected
    }

    init(_ name: String, bytes: [UInt8], _ expected: Expected) {
        self.name = name
        self.bytes = bytes
        self.expected = expected
    }
}

/// A typical browser navigation request: 12 header fields.
let browserGET = """
    GET /assets/app.3f9a1c.js HTTP/1.1\r
    Host: shop.example.test\r
    User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0\r
    Accept: */*\r
    Accept-Language: en-GB,en;q=0.9\r
    Accept-Encoding: gzip, deflate, br, zstd\r
    Referer: https://shop.example.test/\r
    Connection: keep-alive\r
    Sec-Fetch-Dest: script\r
    Sec-Fetch-Mode: no-cors\r
    Sec-Fetch-Site: same-origin\r
    If-None-Match: "br-5d41402abc4b2a76"\r
    Priority: u=1\r
    \r

    """

let requestFixtures: [RequestFixture] = [
    // Well-formed requests.
    .init("minimal GET", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", .requests(1)),
    .init("browser GET with 12 fields", browserGET, .requests(1)),
    .init("HTTP/1.0 GET without Host", "GET /index.html HTTP/1.0\r\n\r\n", .requests(1)),
    .init("HTTP/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", .requests(1)),
    .init("HTTP/1.1 Connection close", "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", .requests(1)),
    .init("HEAD request", "HEAD /big.apk HTTP/1.1\r\nHost: a\r\nRange: bytes=0-99\r\n\r\n", .requests(1)),
    .init("POST with Content-Length", "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world", .requests(1)),
    .init("Content-Length zero", "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", .requests(1)),
    .init(
        "identical duplicate Content-Length", "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
        .rejected(after: 0, .duplicateContentLength)),
    .init(
        "chunked body with extensions and trailers",
        "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n6 ; a ; b=\"q \\\" x\"\r\n world\r\n0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n",
        .requests(1)),
    .init(
        "chunked with upper-case hex and leading zeros",
        "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n\r\n000A\r\n0123456789\r\n00\r\n\r\n", .requests(1)),
    .init(
        "chunked then pipelined GET",
        "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n", .requests(2)),
    .init(
        "three pipelined GETs",
        "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nGET /3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", .requests(3)),
    .init("leading empty lines", "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", .requests(1)),
    .init("absolute-form target", "GET http://shop.example.test/a/b.css?v=2 HTTP/1.1\r\nHost: shop.example.test\r\n\r\n", .requests(1)),
    .init("OPTIONS asterisk", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", .requests(1)),
    .init(
        "obs-text in a value", bytes: Array("GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf".utf8) + [0xC3, 0xA9] + Array("\r\n\r\n".utf8), .requests(1)),
    .init("empty field value", "GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\n\r\n", .requests(1)),
    .init("whitespace around values", "GET / HTTP/1.1\r\nHost: \t a \t\r\nAccept:   text/html  \r\n\r\n", .requests(1)),
    .init("unknown method", "PURGE /cache HTTP/1.1\r\nHost: a\r\n\r\n", .requests(1)),
    .init("HTTP/1.2 refused", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", .rejected(after: 0, .unsupportedMinorVersion)),
    .init("Expect 100-continue", "PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok", .requests(1)),
    .init(
        "conditional GET fields",
        "GET /i.html HTTP/1.1\r\nHost: a\r\nIf-None-Match: W/\"x\", \"y\"\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n", .requests(1)),
    .init("incomplete head", "GET /slow HTTP/1.1\r\nHost: a\r\nAccept: te", .incomplete(after: 0)),
    .init(
        "incomplete body after a full request", "GET / HTTP/1.1\r\nHost: a\r\n\r\nPOST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc",
        .incomplete(after: 1)),

    // Rejections.
    .init("bare LF ends the request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", .rejected(after: 0, .bareLineFeed)),
    .init("bare CR inside a value", "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", .rejected(after: 0, .bareCarriageReturn)),
    .init("obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX-Long: one\r\n two\r\n\r\n", .rejected(after: 0, .obsoleteLineFolding)),
    .init("space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", .rejected(after: 0, .whitespaceBeforeColon)),
    .init(
        "Content-Length with Transfer-Encoding",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        .rejected(after: 0, .contentLengthWithTransferEncoding)),
    .init(
        "differing Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        .rejected(after: 0, .duplicateContentLength)),
    .init(
        "chunked not last", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
        .rejected(after: 0, .transferEncodingNotChunkedLast)),
    .init(
        "gzip transfer coding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        .rejected(after: 0, .unsupportedTransferCoding)),
    .init(
        "chunk size overflow", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFF\r\n",
        .rejected(after: 0, .chunkSizeOverflow)),
    .init(
        "invalid chunk extension", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;=x\r\nhello\r\n0\r\n\r\n",
        .rejected(after: 0, .invalidChunkExtension)),
    .init(
        "missing chunk terminator", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
        .rejected(after: 0, .missingChunkTerminator)),
    .init("HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", .rejected(after: 0, .http2Preface)),
    .init("HTTP/3.0 request line", "GET / HTTP/3.0\r\nHost: a\r\n\r\n", .rejected(after: 0, .unsupportedVersion)),
    .init("missing Host", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", .rejected(after: 0, .missingHost)),
    .init("duplicate Host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", .rejected(after: 0, .duplicateHost)),
    .init(
        "NUL in a value", bytes: Array("GET / HTTP/1.1\r\nHost: a\r\nX: a".utf8) + [0] + Array("b\r\n\r\n".utf8),
        .rejected(after: 0, .invalidFieldValue)),
    .init("invalid method byte", "GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", .rejected(after: 0, .invalidMethod)),
    .init(
        "Transfer-Encoding in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        .rejected(after: 0, .transferEncodingInHTTP10)),
    .init(
        "smuggled second request after a good one",
        "GET / HTTP/1.1\r\nHost: a\r\n\r\nPOST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG",
        .rejected(after: 1, .contentLengthWithTransferEncoding)),
]
