import Testing
import WharfTestSupport

@testable import HTTPCore

@Suite struct RequestTargetTests {
    private func path(_ target: String) throws -> String { try RequestTarget.parse(target).path }

    @Test(arguments: [
        ("/", "/"),
        ("/assets/app.js", "/assets/app.js"),
        ("/a/./b/../c", "/a/c"),
        ("/a/b/..", "/a/"),
        ("/a/..", "/"),
        ("/a/b/.", "/a/b/"),
        ("/./a", "/a"),
        ("//a///b", "/a/b"),
        ("/dir/", "/dir/"),
        ("/%41pp%20name.js", "/App name.js"),
        ("/caf%C3%A9.html", "/café.html"),
        ("/a..b/c", "/a..b/c"),
        ("/...", "/..."),
        ("/.well-known/x", "/.well-known/x"),
        ("/a/b/../../c", "/c"),
    ])
    func originFormPathsAreDecodedAndNormalised(target: String, expected: String) throws {
        let result = try RequestTarget.parse(target)
        #expect(result.form == .origin)
        #expect(result.path == expected)
        #expect(result.query == nil)
        #expect(result.host == nil)
    }

    @Test func theQueryIsSplitOffRaw() throws {
        let result = try RequestTarget.parse("/search/../index.html?q=a%20b&x=/../..")
        #expect(result.path == "/index.html")
        #expect(result.query == "q=a%20b&x=/../..")
        #expect(try RequestTarget.parse("/a?").query == "")
    }

    @Test func absoluteFormGivesPathAndLowerCasedHost() throws {
        let result = try RequestTarget.parse("http://Shop.Example.TEST:8080/a/%62.css?v=1")
        #expect(result.form == .absolute)
        #expect(result.host == "shop.example.test:8080")
        #expect(result.path == "/a/b.css")
        #expect(result.query == "v=1")
        #expect(try RequestTarget.parse("HTTPS://h").path == "/")
        #expect(try RequestTarget.parse("http://h?x").query == "x")
        #expect(try RequestTarget.parse("http://[::1]:80/x").host == "[::1]:80")
    }

    @Test func asteriskFormIsOnlyForOptions() throws {
        #expect(throws: RequestTargetError.asteriskFormNotAllowed) { try RequestTarget.parse("*") }
        #expect(try RequestTarget.parse("*", method: .options).form == .asterisk)
    }

    @Test func authorityFormIsOnlyForConnect() throws {
        #expect(throws: RequestTargetError.authorityFormNotAllowed) { try RequestTarget.parse("example.test:443") }
        let result = try RequestTarget.parse("Example.test:443", method: .connect)
        #expect(result.form == .authority)
        #expect(result.host == "example.test:443")
    }

    @Test(arguments: [
        ("/..", RequestTargetError.escapesRoot),
        ("/../etc/passwd", .escapesRoot),
        ("/a/../../etc/passwd", .escapesRoot),
        ("/a/b/../../../x", .escapesRoot),
        ("/%2e%2e/etc/passwd", .encodedDotSegment),
        ("/%2E%2E/etc/passwd", .encodedDotSegment),
        ("/%2E./etc/passwd", .encodedDotSegment),
        ("/.%2e/etc/passwd", .encodedDotSegment),
        ("/a/%2e/b", .encodedDotSegment),
        ("/a/%2e%2e", .encodedDotSegment),
        ("/..%2fetc/passwd", .encodedSlash),
        ("/%2e%2e%2fetc%2fpasswd", .encodedSlash),
        ("/a%2Fb", .encodedSlash),
        ("/a%2fb", .encodedSlash),
        ("/index.html%00.png", .encodedNul),
        ("/a\\..\\b", .backslash),
        ("/..%5c..%5cwindows", .backslash),
        ("/a%5Cb", .backslash),
        ("/a%0Ab", .controlByte),
        ("/a%0d%0aSet-Cookie:x", .controlByte),
        ("/a%1Fb", .controlByte),
        ("/a%7Fb", .controlByte),
        ("/a%", .invalidPercentEncoding),
        ("/a%4", .invalidPercentEncoding),
        ("/a%G1", .invalidPercentEncoding),
        ("/a%%31", .invalidPercentEncoding),
        ("/%FF%FE", .invalidUTF8),
        ("/%C0%AE%C0%AE/etc", .invalidUTF8),
        ("/a#frag", .fragment),
        ("", .empty),
        ("/a b", .controlByte),
        ("http://user@host/", .invalidAuthority),
        ("http:///path", .invalidAuthority),
        ("http://host:port/", .invalidAuthority),
        ("http://ho%73t/", .invalidAuthority),
        ("http://h/../x", .escapesRoot),
        ("index.html", .authorityFormNotAllowed),
    ])
    func hostileOrMalformedTargetsAreRefused(target: String, error: RequestTargetError) {
        #expect(throws: error) { try RequestTarget.parse(target) }
        #expect(error.status == 400)
        #expect(!error.description.isEmpty)
    }

    @Test func theTargetOfAParsedHeadNormalisesWithoutCopyingTheHead() throws {
        let head = try singleHead("GET /app/./static/../main.js?v=3 HTTP/1.1\r\nHost: a\r\n\r\n")
        let target = try RequestTarget.parse(head.target, method: head.method)
        #expect(target.path == "/app/main.js")
        #expect(target.query == "v=3")
    }

    @Test func noNormalisedPathEverLeavesTheRoot() throws {
        var generator = SeededRandom(seed: 42)
        let pieces = ["/", "..", ".", "a", "%2e", "%2E", "%2f", "%5c", "b.js", "%41", "//", "%"]
        for _ in 0..<2000 {
            let count = Int(generator.next() % 8) + 1
            let target = "/" + (0..<count).map { _ in pieces[Int(generator.next() % UInt64(pieces.count))] }.joined()
            guard let result = try? RequestTarget.parse(target) else { continue }
            #expect(result.path.hasPrefix("/"))
            let segments = result.path.split(separator: "/", omittingEmptySubsequences: false)
            #expect(!segments.contains(".."), "\(target) -> \(result.path)")
            #expect(!segments.contains("."), "\(target) -> \(result.path)")
            #expect(!result.path.contains("\\"))
            #expect(!result.path.contains("//"))
        }
    }
}
