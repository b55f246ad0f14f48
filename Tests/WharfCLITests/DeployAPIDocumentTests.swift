import ArtifactStore
import Deploy
import Foundation
import Scheduler
import Testing

@testable import Edge
@testable import WharfCLI

/// `docs/deploy-api.openapi.json` describes exactly the registry, upload, push hook and replica routes the
/// wirings put on the admin listener (method and path), and each documented route answers a
/// request without a credential (or, for the GitHub hook, without a signature) with 401, as the
/// document's security section says.
@Suite struct DeployAPIDocumentTests {
    static let document = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/deploy-api.openapi.json")

    @Test func theDocumentMatchesTheRegisteredRoutes() throws {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.document)) as? [String: Any]
        let paths = try #require(object?["paths"] as? [String: [String: Any]])
        var documented = Set<String>()
        for (path, item) in paths {
            for method in item.keys where method != "parameters" { documented.insert("\(method.uppercased()) \(path)") }
        }
        let h = try WiringEdge()
        defer { h.stop() }
        let admin = AdminServer(edge: h.server, token: AdminToken(AdminToken.generate()))
        try DeployWiring(edge: h.server, store: h.store, limits: UploadLimits()).register(on: admin)
        let queue = try JobQueue(database: SchedulerDatabase.open(path: h.store.path + "/scheduler.sqlite"))
        try HookWiring(store: h.store, queue: queue, defaults: .init()).register(on: admin.routes)
        try BuildStatusAPI(queue: queue, store: h.store, logRoot: h.store.path + "/logs").register(on: admin.routes)
        let registered = Set(
            admin.routes.registered.filter {
                $0.contains("/_wharf/api/registry") || $0.contains("/deploys") || $0.contains("/archives") || $0.contains("/_wharf/hooks/")
                    || $0.contains("/builds") || $0.contains("/_wharf/api/replica/")
            })
        #expect(
            documented == registered, "only documented: \(documented.subtracting(registered)); only registered: \(registered.subtracting(documented))"
        )

        try admin.start()
        defer { admin.shutdown() }
        for route in registered.sorted() {
            let parts = route.split(separator: " ")
            let path = String(parts[1]).replacingOccurrences(of: "{app}", with: "demo").replacingOccurrences(of: "{id}", with: "0123456789abcdef")
                .replacingOccurrences(of: "{hash}", with: String(repeating: "a", count: 64))
                .replacingOccurrences(of: "{sha256}", with: String(repeating: "a", count: 64))
            let response = try Curl.request("http://127.0.0.1:\(admin.port)\(path)", method: String(parts[0]), body: Array("{}".utf8))
            #expect(response.status == 401, "\(route): \(response.status)")
        }
    }

    /// The document speaks the APIs' one key convention (README "Admin API"): every property and
    /// required name is camelCase, so a snake_case field cannot be documented (nor, by the route
    /// tests, served) without this failing.
    @Test func everyDocumentedPropertyIsCamelCase() throws {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.document))
        var names: [String] = []
        func walk(_ value: Any) {
            if let dictionary = value as? [String: Any] {
                if let properties = dictionary["properties"] as? [String: Any] { names += properties.keys }
                if let required = dictionary["required"] as? [String] { names += required }
                dictionary.values.forEach(walk)
            } else if let array = value as? [Any] {
                array.forEach(walk)
            }
        }
        walk(object)
        #expect(names.count > 100, "\(names.count) names found")
        let camelCase = /^[a-z][a-zA-Z0-9]*$/
        let outliers = Set(names.filter { $0.wholeMatch(of: camelCase) == nil })
        #expect(outliers.isEmpty, "not camelCase: \(outliers.sorted())")
    }
}
