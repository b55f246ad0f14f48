import Crypto
import Foundation
import UVLoop

/// Every request a run can send, with its probability and what a correct answer looks like.
///
/// A *variant* is one (app, file, Accept-Encoding class): it is fetched once in full during
/// discovery, which checks it and learns the server's ETag for it. A *template* is one concrete
/// request (GET, revalidation with If-None-Match, byte range, HEAD) for a variant; the scenario's
/// mix gives each template a probability, and the run draws templates from that distribution.
struct RequestCatalog: Sendable {
    struct Variant: Sendable {
        var app: String
        var file: Fixture.File
        var encodingClass: String
        var path: String
        /// The Accept-Encoding value sent, nil for the identity class.
        var acceptEncoding: String?
        /// SHA-256 (hex) of the decoded content a server may return.
        var acceptedHashes: [String]
        /// Learned in discovery.
        var etag: String?
    }

    enum Kind: Sendable, Equatable {
        case get
        case head
        case revalidate
        /// Inclusive byte range and the SHA-256 of those bytes of the file.
        case range(first: Int, last: Int, sha256: String)
    }

    struct Template: Sendable {
        var variant: Int
        var kind: Kind
        var probability: Double
    }

    var variants: [Variant]
    var templates: [Template]
    let sampler: WeightedSampler
    /// The request bytes of each template (built by `prepareRequests` once ETags are known).
    private(set) var requestBytes: [SharedBytes] = []
    /// Plain GET of each variant, for discovery and background connections.
    private(set) var discoveryBytes: [SharedBytes] = []

    /// Accept-Encoding values per class, as current browsers send them.
    static let acceptEncoding: [String: String?] = [
        "br": "gzip, deflate, br",
        "gzip": "gzip, deflate",
        "zstd": "gzip, deflate, br, zstd",
        "identity": nil,
    ]

    enum BuildError: Error, CustomStringConvertible {
        case noMatchingFiles(String)
        case unreadable(String)
        var description: String {
            switch self {
            case .noMatchingFiles(let why): "the scenario's mix matches no fixture file: \(why)"
            case .unreadable(let path): "cannot read fixture file \(path)"
            }
        }
    }

    /// Builds variants and templates for `mix` over `fixture`. Range templates need the file
    /// bytes (to hash the ranges), read from the fixture directory.
    init(mix: Scenario.Mix, fixture: Fixture) throws {
        var apps: [Fixture.App] = []
        for pattern in mix.apps ?? ["*"] {
            let matches =
                pattern.hasSuffix("*")
                ? fixture.apps.filter { $0.name.hasPrefix(pattern.dropLast()) }
                : fixture.apps.filter { $0.name == pattern }
            guard !matches.isEmpty else { throw BuildError.noMatchingFiles("no app matches '\(pattern)'") }
            for app in matches where !apps.contains(where: { $0.name == app.name }) { apps.append(app) }
        }
        guard !apps.isEmpty else { throw BuildError.noMatchingFiles("no apps") }
        let appSampler = try WeightedSampler.zipf(count: apps.count, exponent: mix.appExponent ?? 0)
        let roleWeights: [Double]
        if let exponent = mix.fileExponent {
            roleWeights = try (0..<mix.files.count).map { try WeightedSampler.zipf(count: mix.files.count, exponent: exponent).probability($0) }
        } else {
            let total = mix.files.map(\.weight).reduce(0, +)
            roleWeights = mix.files.map { $0.weight / total }
        }
        let encodingTotal = mix.encodings.values.reduce(0, +)
        let encodings = Scenario.encodingClasses.filter { (mix.encodings[$0] ?? 0) > 0 }
        let rangeRoles = Set(mix.rangeRoles ?? ["wasm", "apk"])
        let rangeBytes = mix.rangeBytes ?? 1 << 20
        let revalidate = mix.revalidateFraction ?? 0
        let rangeFraction = mix.rangeFraction ?? 0
        let headFraction = mix.headFraction ?? 0

        var variants: [Variant] = []
        var templates: [Template] = []
        for (appIndex, app) in apps.enumerated() {
            // Roles this app has; weights renormalised over them.
            let present = mix.files.indices.filter { i in app.files.contains { $0.role == mix.files[i].role } && roleWeights[i] > 0 }
            let presentTotal = present.map { roleWeights[$0] }.reduce(0, +)
            guard presentTotal > 0 else { continue }
            for roleIndex in present {
                let role = mix.files[roleIndex].role
                let files = app.files.filter { $0.role == role }
                let fileProbability = appSampler.probability(appIndex) * roleWeights[roleIndex] / presentTotal / Double(files.count)
                for file in files {
                    let rangeSlices =
                        rangeRoles.contains(role) && rangeFraction > 0 && file.size > rangeBytes
                        ? try Self.rangeSlices(fixture: fixture, app: app.name, file: file, bytes: rangeBytes) : []
                    for encoding in encodings {
                        let p = fileProbability * (mix.encodings[encoding] ?? 0) / encodingTotal
                        let variantIndex = variants.count
                        variants.append(
                            Variant(
                                app: app.name, file: file, encodingClass: encoding, path: "/apps/\(app.name)/\(file.path)",
                                acceptEncoding: Self.acceptEncoding[encoding] ?? nil,
                                acceptedHashes: [file.sha256] + (file.acceptSha256 ?? []), etag: nil))
                        var getShare = 1.0 - revalidate - headFraction
                        if revalidate > 0 { templates.append(Template(variant: variantIndex, kind: .revalidate, probability: p * revalidate)) }
                        if headFraction > 0 { templates.append(Template(variant: variantIndex, kind: .head, probability: p * headFraction)) }
                        if !rangeSlices.isEmpty {
                            getShare -= rangeFraction
                            for slice in rangeSlices {
                                templates.append(
                                    Template(
                                        variant: variantIndex, kind: slice,
                                        probability: p * rangeFraction / Double(rangeSlices.count)))
                            }
                        }
                        if getShare > 0 { templates.append(Template(variant: variantIndex, kind: .get, probability: p * getShare)) }
                    }
                }
            }
        }
        guard !templates.isEmpty else { throw BuildError.noMatchingFiles("roles \(mix.files.map(\.role))") }
        self.variants = variants
        self.templates = templates
        sampler = try WeightedSampler(weights: templates.map(\.probability))
    }

    /// Four ranges spread over the file (start, two middles, end), each `bytes` long.
    static func rangeSlices(fixture: Fixture, app: String, file: Fixture.File, bytes: Int) throws -> [Kind] {
        guard let url = fixture.fileURL(app: app, path: file.path), let handle = try? FileHandle(forReadingFrom: url) else {
            throw BuildError.unreadable("apps/\(app)/\(file.path)")
        }
        defer { try? handle.close() }
        var kinds: [Kind] = []
        for k in 0..<4 {
            let first = (file.size - bytes) * k / 3
            try handle.seek(toOffset: UInt64(first))
            let data = try handle.read(upToCount: bytes) ?? Data()
            guard data.count == bytes else { throw BuildError.unreadable("apps/\(app)/\(file.path)") }
            kinds.append(.range(first: first, last: first + bytes - 1, sha256: Self.hex(SHA256.hash(data: data))))
        }
        return kinds
    }

    static func hex(_ digest: SHA256.Digest) -> String {
        digest.map { String(format: "%02x", $0) }.joined()
    }

    /// Builds the request bytes; call after discovery so revalidations carry the ETag. A
    /// revalidation of a variant without ETag is sent as a plain GET.
    mutating func prepareRequests(host: String) {
        discoveryBytes = variants.map { SharedBytes(copying: Self.request(for: $0, kind: .get, host: host)) }
        requestBytes = templates.map { template in
            SharedBytes(copying: Self.request(for: variants[template.variant], kind: template.kind, host: host))
        }
    }

    static func request(for variant: Variant, kind: Kind, host: String) -> [UInt8] {
        var text = (kind == .head ? "HEAD " : "GET ") + variant.path + " HTTP/1.1\r\nHost: \(host)\r\n"
        text += "User-Agent: wharf-load\r\nAccept: */*\r\n"
        // A range is of the representation the same Accept-Encoding selects; the slices hashed
        // here are of the file's own bytes, so a range request asks for identity.
        if case .range = kind {
            text += "Accept-Encoding: identity\r\n"
        } else if let ae = variant.acceptEncoding {
            text += "Accept-Encoding: \(ae)\r\n"
        }
        switch kind {
        case .revalidate:
            if let etag = variant.etag { text += "If-None-Match: \(etag)\r\n" }
        case .range(let first, let last, _):
            text += "Range: bytes=\(first)-\(last)\r\n"
        case .get, .head:
            break
        }
        text += "\r\n"
        return Array(text.utf8)
    }

    /// What a correct answer to `template` is.
    func expectation(for templateIndex: Int) -> Expectation {
        let template = templates[templateIndex]
        let variant = variants[template.variant]
        switch template.kind {
        case .get: return Expectation(statuses: [200], hashes: variant.acceptedHashes, identityOnly: false, variant: template.variant)
        case .head: return Expectation(statuses: [200], hashes: [], identityOnly: false, variant: template.variant)
        case .revalidate:
            let statuses: Set<Int> = variant.etag == nil ? [200] : [304, 200]
            return Expectation(statuses: statuses, hashes: variant.acceptedHashes, identityOnly: false, variant: template.variant)
        case .range(_, _, let sha):
            return Expectation(statuses: [206], hashes: [sha], identityOnly: true, variant: template.variant)
        }
    }

    struct Expectation: Sendable {
        var statuses: Set<Int>
        /// Accepted SHA-256 of the decoded body (empty: no body expected or not checked).
        var hashes: [String]
        var identityOnly: Bool
        var variant: Int
    }
}
