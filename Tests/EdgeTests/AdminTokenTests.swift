import ArtifactStore
import Foundation
import Glibc
import Testing

@testable import Edge

/// Where the admin token comes from, how its file is created, and how it is compared.
@Suite struct AdminTokenTests {
    func temporaryStore() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-token-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func theComparisonIsCorrectAndExaminesEveryPresentedByte() {
        let secret = Array("0123456789abcdef0123456789abcdef".utf8)
        let cases: [(String, Bool)] = [
            ("0123456789abcdef0123456789abcdef", true),
            ("X123456789abcdef0123456789abcdef", false),  // differs at the first byte
            ("0123456789abcdef0123456789abcdeX", false),  // differs at the last byte
            ("0123456789abcdef", false),  // a prefix
            ("0123456789abcdef0123456789abcdef0", false),  // one byte longer
            ("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", false),  // the secret twice
            ("", false),
        ]
        for (presented, expected) in cases {
            let bytes = Array(presented.utf8)
            let result = AdminToken.constantTimeEquals(bytes, secret)
            #expect(result.equal == expected, "\(presented)")
            // No early exit: however early the first difference, all presented bytes are examined.
            #expect(result.compared == bytes.count, "\(presented)")
        }
        #expect(AdminToken("s3cret").matches(Array("s3cret".utf8)))
        #expect(!AdminToken("s3cret").matches(Array("s3cres".utf8)))
    }

    @Test func aMissingTokenFileIsCreatedWithMode0600AndA64DigitHexToken() throws {
        let store = try temporaryStore()
        defer { try? FileManager.default.removeItem(atPath: store) }
        let first = try AdminToken.resolve(storePath: store, environment: [:])
        let path = store + "/admin-token"
        #expect(first.source == .file(path: path, created: true))
        var info = stat()
        #expect(stat(path, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        let text = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(text.count == 64)
        #expect(text.allSatisfy { $0.isHexDigit && !$0.isUppercase })
        #expect(first.matches(Array(text.utf8)))

        // Later starts read the same token and do not rewrite it.
        let second = try AdminToken.resolve(storePath: store + "/", environment: [:])
        #expect(second.source == .file(path: path, created: false))
        #expect(second.matches(Array(text.utf8)))
        // Two fresh tokens differ (32 random bytes each).
        #expect(AdminToken.generate() != AdminToken.generate())
    }

    @Test func theEnvironmentVariableWinsOverTheFileAndMustNotBeEmpty() throws {
        let store = try temporaryStore()
        defer { try? FileManager.default.removeItem(atPath: store) }
        let token = try AdminToken.resolve(storePath: store, environment: ["WHARF_ADMIN_TOKEN": " from-env \n"])
        #expect(token.source == .environment)
        #expect(token.matches(Array("from-env".utf8)))
        #expect(!FileManager.default.fileExists(atPath: store + "/admin-token"))
        #expect(throws: AdminToken.LoadError.self) {
            try AdminToken.resolve(storePath: store, environment: ["WHARF_ADMIN_TOKEN": "  "])
        }
    }

    @Test func anEmptyOrUnreadableTokenFileIsAnError() throws {
        let store = try temporaryStore()
        defer { try? FileManager.default.removeItem(atPath: store) }
        _ = FileManager.default.createFile(atPath: store + "/admin-token", contents: Data("\n".utf8))
        #expect(throws: AdminToken.LoadError.self) { try AdminToken.resolve(storePath: store, environment: [:]) }
        #expect(throws: AdminToken.LoadError.self) {
            try AdminToken.resolve(storePath: store + "/no-such-dir", environment: [:])
        }
    }

    @Test func theAdminServerAcceptsTheTokenFromTheFile() throws {
        let edge = try EdgeHarness { $0.adminPort = 0 }
        defer { edge.stop() }
        let token = try AdminToken.resolve(storePath: edge.store.path, environment: [:])
        let admin = AdminServer(edge: edge.server, token: token)
        try admin.start()
        defer { admin.shutdown() }
        let secret = try String(contentsOfFile: edge.store.path + "/admin-token", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try TestClient(port: admin.port).request("GET", "/_wharf/api/apps", token: secret).status == 200)
        #expect(try TestClient(port: admin.port).request("GET", "/_wharf/api/apps", token: "nope").status == 401)
    }
}
