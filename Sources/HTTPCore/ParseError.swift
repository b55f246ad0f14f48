/// Why the request parser refused a request. One case per rule, each with a human-readable
/// reason (`description`) and the status the edge answers with (`status`); after any of these the
/// connection must be closed, because the framing of what follows can no longer be trusted.
///
/// Status choices: syntax and smuggling-prone framing → 400; request line over the limit → 414;
/// header section or field count over the limit → 431; body over the limit → 413; a transfer
/// coding we do not implement → 501; HTTP/2 preface or a major version other than 1 → 505.
public enum ParseError: Error, Sendable, Hashable, CustomStringConvertible {
    // Request line (RFC 9112 §3).
    case requestLineTooLong
    case invalidMethod
    case invalidRequestTarget
    case invalidVersion
    case invalidRequestLine
    case unsupportedVersion
    case unsupportedMinorVersion
    case http2Preface
    // Line endings (RFC 9112 §2.2).
    case bareCarriageReturn
    case bareLineFeed
    // Header section (RFC 9112 §5).
    case headerSectionTooLarge
    case tooManyFields
    case invalidFieldName
    case whitespaceBeforeColon
    case missingColon
    case obsoleteLineFolding
    case whitespaceBeforeFirstField
    case invalidFieldValue
    case missingHost
    case duplicateHost
    // Message framing (RFC 9112 §6).
    case invalidContentLength
    case conflictingContentLength
    case duplicateContentLength
    case contentLengthWithTransferEncoding
    case transferEncodingInHTTP10
    case transferEncodingNotChunkedLast
    case chunkedAppliedTwice
    case invalidTransferCoding
    case unsupportedTransferCoding
    case bodyTooLarge
    // Chunked body (RFC 9112 §7.1).
    case invalidChunkSize
    case chunkSizeOverflow
    case invalidChunkExtension
    case chunkLineTooLong
    case missingChunkTerminator
    case trailerSectionTooLarge

    /// The response status for this rejection.
    public var status: Int {
        switch self {
        case .requestLineTooLong: 414
        case .headerSectionTooLarge, .tooManyFields, .trailerSectionTooLarge: 431
        case .bodyTooLarge: 413
        case .unsupportedTransferCoding: 501
        case .unsupportedVersion, .http2Preface: 505
        default: 400
        }
    }

    public var description: String {
        switch self {
        case .requestLineTooLong: "request line longer than the limit"
        case .invalidMethod: "method is not a token"
        case .invalidRequestTarget: "request target is empty or contains whitespace, control or non-ASCII bytes"
        case .invalidVersion: "HTTP version is not HTTP/DIGIT.DIGIT"
        case .invalidRequestLine: "request line is not 'method SP target SP version'"
        case .unsupportedVersion: "HTTP major version other than 1"
        case .unsupportedMinorVersion: "HTTP/1 version other than HTTP/1.0 and HTTP/1.1"
        case .http2Preface: "HTTP/2 connection preface sent to an HTTP/1.1 server"
        case .bareCarriageReturn: "CR not followed by LF"
        case .bareLineFeed: "LF without a preceding CR"
        case .headerSectionTooLarge: "header section longer than the limit"
        case .tooManyFields: "more header fields than the limit"
        case .invalidFieldName: "field name is empty or not a token"
        case .whitespaceBeforeColon: "whitespace between field name and colon"
        case .missingColon: "field line without a colon"
        case .obsoleteLineFolding: "obsolete line folding (obs-fold)"
        case .whitespaceBeforeFirstField: "whitespace at the start of the first field line"
        case .invalidFieldValue: "field value contains a control byte"
        case .missingHost: "HTTP/1.1 request without Host"
        case .duplicateHost: "more than one Host field"
        case .invalidContentLength: "Content-Length is not a decimal number"
        case .conflictingContentLength: "Content-Length values differ"
        case .duplicateContentLength: "more than one Content-Length field"
        case .contentLengthWithTransferEncoding: "both Content-Length and Transfer-Encoding"
        case .transferEncodingInHTTP10: "Transfer-Encoding in an HTTP/1.0 request"
        case .transferEncodingNotChunkedLast: "Transfer-Encoding whose final coding is not chunked"
        case .chunkedAppliedTwice: "chunked transfer coding applied more than once"
        case .invalidTransferCoding: "Transfer-Encoding is empty or not a list of tokens"
        case .unsupportedTransferCoding: "transfer coding other than chunked"
        case .bodyTooLarge: "body larger than the limit"
        case .invalidChunkSize: "chunk size is not hexadecimal"
        case .chunkSizeOverflow: "chunk size does not fit in 63 bits"
        case .invalidChunkExtension: "malformed chunk extension"
        case .chunkLineTooLong: "chunk-size line longer than the limit"
        case .missingChunkTerminator: "chunk data not followed by CRLF"
        case .trailerSectionTooLarge: "trailer section longer than the limit"
        }
    }
}
