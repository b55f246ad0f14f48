import Compression
import Crypto
import Testing

@testable import WharfLoad

private let content = Array(String(repeating: "export const x = 1;\n", count: 500).utf8)
private let sha = RequestCatalog.hex(SHA256.hash(data: content))

@Test(arguments: ["br", "gzip", "zstd"])
func encodedBodiesAreDecodedBeforeHashing(token: String) throws {
    let encoded = try Codec(token: token)!.encode(content)
    #expect(BodyVerifier.verify(body: encoded, contentEncoding: token, accepted: [sha]) == .ok(sha256: sha))
}

@Test func identityBodiesAreHashedAsTheyAre() {
    #expect(BodyVerifier.verify(body: content, contentEncoding: nil, accepted: ["other", sha]) == .ok(sha256: sha))
    #expect(BodyVerifier.verify(body: content, contentEncoding: "identity", accepted: [sha]) == .ok(sha256: sha))
}

@Test func wrongBytesAreAMismatch() {
    var changed = content
    changed[10] ^= 1
    guard case .mismatch = BodyVerifier.verify(body: changed, contentEncoding: nil, accepted: [sha]) else {
        Issue.record("not a mismatch")
        return
    }
}

@Test func garbageUnderAnEncodingIsUndecodable() {
    #expect(BodyVerifier.verify(body: [1, 2, 3, 4, 5], contentEncoding: "gzip", accepted: [sha]) == .undecodable)
    #expect(BodyVerifier.verify(body: content, contentEncoding: "compress", accepted: [sha]) == .unexpectedEncoding("compress"))
    #expect(BodyVerifier.verify(body: content, contentEncoding: "br", accepted: [sha], identityOnly: true) == .unexpectedEncoding("br"))
}
