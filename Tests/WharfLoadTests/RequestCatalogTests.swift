import Crypto
import Foundation
import Testing
import UVLoop

@testable import WharfLoad

private func mix(
    _ files: [(String, Double)], encodings: [String: Double] = ["br": 1], revalidate: Double? = nil,
    range: Double? = nil, apps: [String]? = nil, appExponent: Double? = nil
) -> Scenario.Mix {
    Scenario.Mix(
        apps: apps, appExponent: appExponent, files: files.map { .init(role: $0.0, weight: $0.1) }, fileExponent: nil,
        encodings: encodings, revalidateFraction: revalidate, rangeFraction: range, rangeRoles: ["wasm"],
        rangeBytes: 1000, headFraction: nil)
}

@Test func templateProbabilitiesFollowTheMixAndSumToOne() throws {
    let fx = try TestFixture.make()
    defer { fx.remove() }
    let catalog = try RequestCatalog(
        mix: mix([("entry", 3), ("js", 1)], encodings: ["br": 70, "gzip": 30], revalidate: 0.3),
        fixture: fx.fixture)
    #expect(catalog.variants.count == 2 * 2 * 2)  // apps × roles × encodings
    #expect(abs(catalog.templates.map(\.probability).reduce(0, +) - 1) < 1e-9)
    let entryBrGet = catalog.templates.filter {
        let v = catalog.variants[$0.variant]
        return v.file.role == "entry" && v.encodingClass == "br" && $0.kind == .get
    }.map(\.probability).reduce(0, +)
    #expect(abs(entryBrGet - 0.75 * 0.7 * 0.7) < 1e-9)  // entry 3/4, br 70%, plain GET 70%
}

@Test func appPatternsSelectAppsInPopularityOrder() throws {
    let fx = try TestFixture.make(apps: ["app1", "app2", "other"])
    defer { fx.remove() }
    let catalog = try RequestCatalog(mix: mix([("entry", 1)], apps: ["other", "app*"], appExponent: 1), fixture: fx.fixture)
    #expect(catalog.variants.map(\.app) == ["other", "app1", "app2"])
    #expect(catalog.templates[0].probability > catalog.templates[1].probability)
    #expect(throws: (any Error).self) { try RequestCatalog(mix: mix([("entry", 1)], apps: ["nope*"]), fixture: fx.fixture) }
    #expect(throws: (any Error).self) { try RequestCatalog(mix: mix([("font", 1)]), fixture: fx.fixture) }
}

@Test func rangeTemplatesCarryTheHashOfExactlyThoseBytes() throws {
    let fx = try TestFixture.make(apps: ["a"], largeBytes: 10_000)
    defer { fx.remove() }
    let catalog = try RequestCatalog(mix: mix([("wasm", 1)], encodings: ["identity": 1], range: 0.5), fixture: fx.fixture)
    let ranges = catalog.templates.compactMap { t -> (Int, Int, String)? in
        if case .range(let first, let last, let sha) = t.kind { return (first, last, sha) }
        return nil
    }
    #expect(ranges.count == 4)
    let content = fx.contents["/apps/a/assets/app.wasm"]!
    for (first, last, sha) in ranges {
        #expect(last - first + 1 == 1000)
        #expect(RequestCatalog.hex(SHA256.hash(data: content[first...last])) == sha)
    }
    #expect(ranges.last!.1 == content.count - 1)
}

@Test func requestsCarryTheHeadersTheirKindNeeds() throws {
    let fx = try TestFixture.make(apps: ["a"], largeBytes: 10_000)
    defer { fx.remove() }
    var catalog = try RequestCatalog(
        mix: mix([("entry", 1), ("wasm", 1)], encodings: ["gzip": 1, "identity": 1], revalidate: 0.2, range: 0.2),
        fixture: fx.fixture)
    for i in catalog.variants.indices { catalog.variants[i].etag = "\"e\(i)\"" }
    catalog.prepareRequests(host: "127.0.0.1:9")
    for (i, template) in catalog.templates.enumerated() {
        let text = catalog.requestBytes[i].withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        let variant = catalog.variants[template.variant]
        #expect(text.hasPrefix("GET \(variant.path) HTTP/1.1\r\nHost: 127.0.0.1:9\r\n"))
        #expect(text.hasSuffix("\r\n\r\n"))
        let isRange = catalog.expectation(for: i).statuses == [206]
        // Ranges ask for identity: their bytes are of the file itself (the server ranges the
        // representation the Accept-Encoding selects).
        #expect(text.contains("Accept-Encoding: gzip, deflate\r\n") == (variant.encodingClass == "gzip" && !isRange))
        #expect(text.contains("Accept-Encoding: identity\r\n") == isRange)
        #expect(text.contains("If-None-Match: \"e\(template.variant)\"") == (template.kind == .revalidate))
        #expect(text.contains("Range: bytes=") == (catalog.expectation(for: i).statuses == [206]))
    }
}
