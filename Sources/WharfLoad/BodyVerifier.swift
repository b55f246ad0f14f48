import Compression
import Crypto

/// Checks a received body: decodes its Content-Encoding (br, zstd, gzip) with the project's
/// codecs, hashes the result with SHA-256 and compares it with the accepted hashes.
enum BodyVerifier {
    enum Outcome: Equatable, Sendable {
        case ok(sha256: String)
        case mismatch(sha256: String)
        case undecodable
        case unexpectedEncoding(String)
    }

    static let maxDecodedBytes = 256 << 20

    static func verify(body: [UInt8], contentEncoding: String?, accepted: [String], identityOnly: Bool = false) -> Outcome {
        var decoded = body
        if let encoding = contentEncoding, encoding != "identity" {
            if identityOnly { return .unexpectedEncoding(encoding) }
            guard let codec = Codec(token: encoding) else { return .unexpectedEncoding(encoding) }
            guard let output = try? codec.decode(body, maxOutputBytes: maxDecodedBytes) else { return .undecodable }
            decoded = output
        }
        let sha = RequestCatalog.hex(SHA256.hash(data: decoded))
        return accepted.contains(sha) ? .ok(sha256: sha) : .mismatch(sha256: sha)
    }
}
