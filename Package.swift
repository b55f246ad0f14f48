// swift-tools-version: 6.1
import PackageDescription

/// Wharf: an artifact CDN edge and a build scheduler on libuv. See README.md for the module map.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// The request path (parser, event loop, edge) runs without dynamic exclusivity checks in
/// release builds: they cost ~3% of a small-file request in the profile. Debug builds, and so
/// every test run, keep them on and would catch a violation.
let hotPathSettings: [SwiftSetting] =
    swiftSettings + [
        .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))
    ]

let package = Package(
    name: "Wharf",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "wharf", targets: ["WharfCLI"]),
        .executable(name: "wharf-bench", targets: ["WharfBench"]),
        .executable(name: "wharf-load", targets: ["WharfLoad"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0", traits: [.defaults, "YAML"]),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // C: each imported by exactly one Swift module, which keeps it internal.
        .systemLibrary(name: "CLibUV", pkgConfig: "libuv", providers: [.apt(["libuv1-dev"])]),
        .systemLibrary(name: "CCodecs", providers: [.apt(["libzstd-dev", "libbrotli-dev", "zlib1g-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CNGHTTP2", pkgConfig: "libnghttp2", providers: [.apt(["libnghttp2-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),

        // Pure HTTP semantics: no I/O, no dependencies.
        .target(name: "HTTPCore", swiftSettings: hotPathSettings),
        // br / zstd / gzip over CCodecs.
        .target(name: "Compression", dependencies: ["CCodecs"], swiftSettings: swiftSettings),
        // The only importer of CLibUV.
        .target(name: "UVLoop", dependencies: ["CLibUV"], swiftSettings: hotPathSettings),
        // TLS contexts, certificates and memory-BIO sessions: the only importer of COpenSSL.
        .target(name: "TLS", dependencies: ["COpenSSL"], swiftSettings: swiftSettings),
        .testTarget(name: "TLSTests", dependencies: ["TLS"], swiftSettings: swiftSettings),
        // HTTP/2 framing, HPACK and flow control over libnghttp2: the only importer of CNGHTTP2.
        .target(name: "HTTP2", dependencies: ["CNGHTTP2"], swiftSettings: hotPathSettings),
        // A small synchronous PostgreSQL client over libpq: the only importer of CLibPQ.
        .target(name: "Postgres", dependencies: ["CLibPQ"], swiftSettings: swiftSettings),
        // Content-addressed blobs, deployments, aliases in SQLite.
        .target(
            name: "ArtifactStore",
            dependencies: [
                "HTTPCore", "Compression",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings),
        // The HTTP/1.1 server on UVLoop.
        .target(name: "Edge", dependencies: ["HTTPCore", "UVLoop", "ArtifactStore", "TLS", "HTTP2"], swiftSettings: hotPathSettings),
        // A tier edge's client for its origin: replica sync, blob fetch by hash, its disk cache (issue 23).
        .target(name: "Tier", dependencies: ["ArtifactStore", "TLS"], swiftSettings: swiftSettings),
        .testTarget(name: "TierTests", dependencies: ["Tier", "ArtifactStore", "WharfTestSupport"], swiftSettings: swiftSettings),
        // App registry, deploy tokens, the upload protocol (issue 17).
        .target(
            name: "Deploy",
            dependencies: ["ArtifactStore", "Compression", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings),
        .testTarget(name: "DeployTests", dependencies: ["Deploy", "ArtifactStore", "WharfTestSupport"], swiftSettings: swiftSettings),
        // Build queue, slots, cache, cron, monitor, simulator.
        .target(
            name: "Scheduler",
            dependencies: [
                "UVLoop", "ArtifactStore", "Postgres",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings),
        // The `wharf` executable: argument parsing and wiring only.
        .executableTarget(
            name: "WharfCLI",
            dependencies: [
                "HTTPCore", "Compression", "UVLoop", "ArtifactStore", "Edge", "Scheduler", "TLS", "HTTP2", "Deploy", "Tier",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings),
        // Release-mode micro-benchmarks: `swift run -c release wharf-bench parser`.
        .executableTarget(name: "WharfBench", dependencies: ["HTTPCore", "Scheduler", "WharfTestSupport"], swiftSettings: swiftSettings),
        // Open-/closed-loop HTTP/1.1 load generator for loadtests/: `wharf-load run --scenario F --target H:P`.
        .executableTarget(
            name: "WharfLoad",
            dependencies: [
                "UVLoop", "Compression", "WharfTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings),

        // Helpers every test target shares (and wharf-bench / wharf-load: the seeded generator).
        .target(name: "WharfTestSupport", path: "Tests/WharfTestSupport", swiftSettings: swiftSettings),
        .testTarget(name: "HTTPCoreTests", dependencies: ["HTTPCore", "WharfTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "CompressionTests", dependencies: ["Compression", "WharfTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "UVLoopTests", dependencies: ["UVLoop"], swiftSettings: swiftSettings),
        .testTarget(name: "ArtifactStoreTests", dependencies: ["ArtifactStore", "Compression"], swiftSettings: swiftSettings),
        .testTarget(
            name: "EdgeTests",
            dependencies: [
                "Edge", "ArtifactStore", "HTTPCore", "Compression", "TLS", .product(name: "Crypto", package: "swift-crypto"),
                "WharfTestSupport", "HTTP2",
            ],
            swiftSettings: swiftSettings),
        // The wiring in `wharf` (where Edge, Scheduler and Deploy meet) against a real edge.
        .testTarget(
            name: "WharfCLITests",
            dependencies: ["WharfCLI", "Edge", "Scheduler", "Deploy", "ArtifactStore", "UVLoop", "WharfTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "WharfLoadTests",
            dependencies: [
                "WharfLoad", "UVLoop", "Compression", "WharfTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "SchedulerTests", dependencies: ["Scheduler", "ArtifactStore", "WharfTestSupport", "Postgres"], swiftSettings: swiftSettings),
        .testTarget(name: "WharfBenchTests", dependencies: ["WharfBench", "Scheduler", "WharfTestSupport"], swiftSettings: swiftSettings),
        // Runs the real `wharf` binary (built by `swift build`): CLI behaviour, SIGKILL crash test.
        .testTarget(name: "EndToEndTests", dependencies: ["ArtifactStore", "WharfTestSupport"], swiftSettings: swiftSettings),
    ],
    swiftLanguageModes: [.v6]
)
