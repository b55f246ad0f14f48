import Foundation

/// One workload, read from a JSON file under loadtests/scenarios. The generator reads the keys
/// below; keys it does not know (`fixture`, `server`, `deploy`, `rounds`, …) belong to the runner.
/// Keys are snake_case in the file.
struct Scenario: Codable, Sendable, Equatable {
    var name: String
    var description: String?
    /// Seed of the request sequence: the same seed sends the same requests against every server.
    var seed: UInt64?
    /// Closed-loop saturation phase (find the throughput).
    var saturation: Phase?
    /// Open-loop phase (latency at a fixed rate).
    var open: Phase?
    var mix: Mix
    var background: Background?
    /// Fraction of requests whose body is hashed and compared (0...1); discovery checks every variant.
    var verifyFraction: Double?
    /// A request outstanding longer than this counts as a timeout and its connection is replaced.
    var requestTimeoutS: Double?
    /// false: do not compare bodies with the fixture (for the trivial server of the overhead run).
    var checkContent: Bool?

    struct Phase: Codable, Sendable, Equatable {
        var connections: Int
        var durationS: Double
        /// Requests per second for the open loop (the runner may override it, e.g. with
        /// `rate_fraction_of_nginx` × nginx's saturation throughput).
        var rate: Double?
        var rateFractionOfNginx: Double?
        var maxRequests: Int?
    }

    struct Mix: Codable, Sendable, Equatable {
        /// Apps to use, in popularity order: names, or prefixes ending in `*` (`app*` = every
        /// fixture app starting with "app", in fixture order). Default: every app of the fixture.
        var apps: [String]?
        /// Zipf exponent over the apps in order (0 or absent: uniform).
        var appExponent: Double?
        /// File roles of the fixture (entry, js, css, image, wasm, apk, …) and their weights.
        var files: [FileWeight]
        /// When set, the listed roles are drawn by Zipf rank in listed order instead of by weight.
        var fileExponent: Double?
        /// Accept-Encoding classes: br, gzip, zstd, identity → weight.
        var encodings: [String: Double]
        var revalidateFraction: Double?
        /// Fraction of requests for files of `range_roles` that ask for a byte range.
        var rangeFraction: Double?
        var rangeRoles: [String]?
        var rangeBytes: Int?
        var headFraction: Double?
    }

    struct FileWeight: Codable, Sendable, Equatable {
        var role: String
        var weight: Double
    }

    struct Background: Codable, Sendable, Equatable {
        /// Keep-alive connections opened before the run: each makes one request, then stays idle.
        var idleConnections: Int?
        /// Connections that send a request head one header line at a time and never finish it.
        var slowloris: Int?
        var slowlorisIntervalMs: Int?
    }

    enum LoadError: Error, CustomStringConvertible {
        case invalid(String)
        var description: String {
            switch self {
            case .invalid(let why): "invalid scenario: \(why)"
            }
        }
    }

    static func decode(_ data: Data) throws -> Scenario {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let scenario: Scenario
        do { scenario = try decoder.decode(Scenario.self, from: data) } catch {
            throw LoadError.invalid("\(error)")
        }
        try scenario.validate()
        return scenario
    }

    static func load(path: String) throws -> Scenario {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LoadError.invalid("cannot read \(path)")
        }
        return try decode(data)
    }

    static let encodingClasses = ["br", "gzip", "zstd", "identity"]

    func validate() throws {
        func check(_ ok: Bool, _ why: String) throws { if !ok { throw LoadError.invalid(why) } }
        try check(!name.isEmpty, "name is empty")
        for (label, phase) in [("saturation", saturation), ("open", open)] {
            guard let phase else { continue }
            try check((1...50_000).contains(phase.connections), "\(label).connections must be 1...50000")
            try check(phase.durationS > 0 && phase.durationS <= 3600, "\(label).duration_s must be in (0, 3600]")
            if let rate = phase.rate { try check(rate > 0 && rate <= 10_000_000, "\(label).rate must be in (0, 1e7]") }
            if let max = phase.maxRequests { try check(max > 0, "\(label).max_requests must be > 0") }
        }
        try check(!mix.files.isEmpty, "mix.files is empty")
        try check(mix.files.allSatisfy { $0.weight >= 0 && $0.weight.isFinite }, "mix.files weights must be ≥ 0")
        try check(mix.files.contains { $0.weight > 0 } || mix.fileExponent != nil, "mix.files weights are all 0")
        try check(!mix.encodings.isEmpty, "mix.encodings is empty")
        for (key, weight) in mix.encodings {
            try check(Self.encodingClasses.contains(key), "unknown encoding class '\(key)' (use br, gzip, zstd, identity)")
            try check(weight >= 0 && weight.isFinite, "encoding weight for \(key) must be ≥ 0")
        }
        try check(mix.encodings.values.contains { $0 > 0 }, "mix.encodings weights are all 0")
        let fractions = [mix.revalidateFraction, mix.rangeFraction, mix.headFraction, verifyFraction].compactMap { $0 }
        try check(fractions.allSatisfy { (0...1).contains($0) }, "fractions must be in [0, 1]")
        try check(
            (mix.revalidateFraction ?? 0) + (mix.rangeFraction ?? 0) + (mix.headFraction ?? 0) <= 1,
            "revalidate + range + head fractions exceed 1")
        if let bytes = mix.rangeBytes { try check(bytes > 0, "mix.range_bytes must be > 0") }
        if let exponent = mix.appExponent { try check(exponent >= 0 && exponent <= 10, "mix.app_exponent must be in [0, 10]") }
        if let exponent = mix.fileExponent { try check(exponent >= 0 && exponent <= 10, "mix.file_exponent must be in [0, 10]") }
        if let timeout = requestTimeoutS { try check(timeout > 0 && timeout <= 600, "request_timeout_s must be in (0, 600]") }
        if let background {
            try check((0...60_000).contains(background.idleConnections ?? 0), "background.idle_connections must be 0...60000")
            try check((0...10_000).contains(background.slowloris ?? 0), "background.slowloris must be 0...10000")
            try check((background.slowlorisIntervalMs ?? 1000) >= 10, "background.slowloris_interval_ms must be ≥ 10")
        }
    }
}
