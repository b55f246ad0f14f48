import HTTPCore
import Testing

@Suite("Cache-Control policy")
struct CacheControlTests {
    @Test func policiesWriteTheirHeaderValues() {
        #expect(CacheControl.immutable.headerValue == "max-age=31536000, immutable")
        #expect(CacheControl.revalidate.headerValue == "no-cache")
        #expect(CacheControl.maxAge(600).headerValue == "public, max-age=600")
        #expect(CacheControl.custom("private, max-age=0").headerValue == "private, max-age=0")
        #expect(CacheControl.immutable.headerBytes == Array("max-age=31536000, immutable".utf8))
    }

    @Test(arguments: [
        CacheControl.immutable, .revalidate, .maxAge(0), .maxAge(60), .maxAge(31_536_000),
        .custom("private, no-store"), .custom("s-maxage=60"),
    ])
    func everyPolicyRoundTripsThroughItsHeaderValue(policy: CacheControl) {
        #expect(CacheControl(headerValue: policy.headerValue) == policy)
    }

    @Test func readingIgnoresCaseWhitespaceAndOrder() {
        #expect(CacheControl(headerValue: "IMMUTABLE ,max-age=31536000,  Public") == .immutable)
        #expect(CacheControl(headerValue: "  No-Cache ") == .revalidate)
        #expect(CacheControl(headerValue: "max-age=120, public") == .maxAge(120))
    }

    @Test func nearMissesStayCustom() {
        #expect(CacheControl(headerValue: "public, max-age=31536000") == .maxAge(31_536_000))
        #expect(CacheControl(headerValue: "public, max-age=1, immutable") == .custom("public, max-age=1, immutable"))
        #expect(CacheControl(headerValue: "no-cache, no-cache") == .custom("no-cache, no-cache"))
        #expect(CacheControl(headerValue: "public, max-age=007") == .custom("public, max-age=007"))
        #expect(CacheControl(headerValue: "public, max-age=-5") == .custom("public, max-age=-5"))
        #expect(CacheControl(headerValue: "public, max-age=99999999999999999999") == .custom("public, max-age=99999999999999999999"))
        #expect(CacheControl(headerValue: "private, max-age=60") == .custom("private, max-age=60"))
        #expect(CacheControl(headerValue: "") == .custom(""))
    }

    @Test func garbageBytesBecomeACustomValue() {
        let bytes: [UInt8] = [0xFF, 0x2C, 0x00, 0x2C, 0x20]
        guard case .custom = CacheControl(headerValue: bytes[...]) else {
            Issue.record("garbage should read as a custom value")
            return
        }
    }
}
