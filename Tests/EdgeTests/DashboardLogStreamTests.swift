import Foundation
import Synchronization
import Testing

@testable import Edge

/// The Builds page's live log: a streamed (`text/event-stream`, chunked) response on a
/// `.delegated` route, asked for with a session cookie instead of a bearer token, on the same
/// server as the other session tests. The route here stands in for `/_wharf/api/builds/{id}/log`
/// (registered by `wharf serve`): same pattern, same access, a stream that waits between lines.
extension DashboardSessionTests {
    /// Three SSE lines with a pause (`.wait`) between each, then the end event.
    final class SlowLines: AdminBodyStream {
        let step = Mutex(0)
        func next() throws -> AdminStreamChunk {
            let n = step.withLock {
                $0 += 1
                return $0
            }
            switch n {
            case 1, 3, 5: return .bytes(Array("data: line \(n / 2 + 1) <img src=x onerror=alert(1)>\n\n".utf8))
            case 2, 4: return .wait
            case 6: return .bytes(Array("event: end\ndata: {\"state\":\"succeeded\"}\n\n".utf8))
            default: return .end
            }
        }
    }

    /// What the handler saw of each request that reached it.
    struct Seen: Equatable {
        var isAdmin: Bool
        var isReadSession: Bool
        var credential: String?
    }

    /// curl (it decodes the chunked stream) with `headers`; the whole answer, head included.
    static func curl(_ url: String, _ headers: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        p.arguments = ["-s", "-i", "--max-time", "10"] + headers.flatMap { ["-H", $0] } + [url]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return text.replacingOccurrences(of: "\r\n", with: "\n")
    }

    @Test func aStreamedBuildLogWorksWithASessionCookieAsWithTheBearerToken() throws {
        let seen = Mutex<[Seen]>([])
        try? h.admin.routes.register("GET", "/_wharf/api/builds/{id}/log", access: .delegated) { request in
            seen.withLock { $0.append(Seen(isAdmin: request.isAdmin, isReadSession: request.isReadSession, credential: request.credential)) }
            var response = AdminResponse(status: 200, body: [], contentType: "text/event-stream; charset=utf-8")
            response.stream = SlowLines()
            return response
        }
        let url = "http://127.0.0.1:\(h.port)/_wharf/api/builds/7/log"
        let expectedLines = (1...3).map { "data: line \($0) <img src=x onerror=alert(1)>" }
        func streamed(_ headers: [String]) throws -> [String] {
            let text = try Self.curl(url, headers)
            #expect(text.hasPrefix("HTTP/1.1 200"), "\(text)")
            #expect(text.lowercased().contains("transfer-encoding: chunked"), "\(text)")
            #expect(text.lowercased().contains("content-type: text/event-stream"), "\(text)")
            #expect(text.hasSuffix("event: end\ndata: {\"state\":\"succeeded\"}\n\n"), "\(text)")
            return text.split(separator: "\n").filter { $0.hasPrefix("data: line") }.map(String.init)
        }

        let admin = try signIn(h.token)
        #expect(try streamed(["Cookie: \(admin.header)"]) == expectedLines)
        let reader = try signIn(Self.readToken)
        #expect(try streamed(["Cookie: \(reader.header)"]) == expectedLines)
        #expect(try streamed(["Authorization: Bearer \(h.token)"]) == expectedLines)
        // The handler knows who asked, and never sees a session as a credential.
        #expect(
            seen.withLock { $0 } == [
                Seen(isAdmin: true, isReadSession: false, credential: nil),
                Seen(isAdmin: false, isReadSession: true, credential: nil),
                Seen(isAdmin: true, isReadSession: false, credential: h.token),
            ])

        // The read token as a bearer token is only a credential for the handler to check (the
        // build log's handler finds no such deploy token: 401), never a read session.
        seen.withLock { $0 = [] }
        _ = try Self.curl(url, ["Authorization: Bearer \(Self.readToken)"])
        #expect(seen.withLock { $0 } == [Seen(isAdmin: false, isReadSession: false, credential: Self.readToken)])

        // The attacks reach no handler: no cookie, a forged or malformed one, a read session's
        // POST (even with its CSRF token), a path beside the route.
        seen.withLock { $0 = [] }
        for headers in [
            [], ["Cookie: wharf_session=\(String(repeating: "0", count: 64))"],
            ["Cookie: wharf_session=\(admin.cookie)x"], ["Cookie: wharf_session=<script>"],
        ] {
            #expect(try Self.curl(url, headers).hasPrefix("HTTP/1.1 401"), "\(headers)")
        }
        let post = try h.call(
            "POST", "/_wharf/api/builds/7/log", body: "", token: "",
            headers: ["Cookie": reader.header, "X-Wharf-CSRF": reader.csrf])
        #expect(post.status == 403)
        #expect(try h.call("GET", "/_wharf/api/buildsx/7/log", token: "", headers: ["Cookie": reader.header]).status == 403)
        #expect(try h.call("GET", "/_wharf/api/registry", token: "", headers: ["Cookie": reader.header]).status == 403)
        #expect(seen.withLock { $0.isEmpty })
    }
}
