/// A build type the scheduler accepts, with what it costs and what a slot needs to run it.
public struct BuildType: Sendable, Hashable, Codable {
    /// The name jobs use, e.g. `flutter_web`.
    public var name: String
    /// Expected duration of one warm build in seconds; feeds the priority score's cost factor.
    var expectedSeconds: Double
    /// Tools a slot should have (e.g. `flutter`, `xcode`); placement prefers slots that have them all.
    var requiredTools: Set<String>
    /// A build running longer than this raises a slow-build alert (the seeds' thresholds).
    var slowThresholdSeconds: Double

    init(name: String, expectedSeconds: Double, requiredTools: Set<String> = [], slowThresholdSeconds: Double = 300) {
        self.name = name
        self.expectedSeconds = expectedSeconds
        self.requiredTools = requiredTools
        self.slowThresholdSeconds = slowThresholdSeconds
    }
}

/// The configured build types. Unknown types are refused at enqueue with `SchedulerError.unknownBuildType`.
public struct BuildTypeCatalog: Sendable {
    public private(set) var types: [String: BuildType]
    /// The largest expected duration; the cost factor is relative to it.
    private(set) var maxExpectedSeconds: Double

    init(_ types: [BuildType]) throws(SchedulerError) {
        guard !types.isEmpty else { throw .invalidConfiguration("no build types") }
        var byName: [String: BuildType] = [:]
        for type in types {
            guard !type.name.isEmpty, type.expectedSeconds > 0, type.expectedSeconds.isFinite else {
                throw .invalidConfiguration("build type '\(type.name)' needs a name and a positive expected duration")
            }
            byName[type.name] = type
        }
        self.types = byName
        self.maxExpectedSeconds = types.map(\.expectedSeconds).max() ?? 1
    }

    /// The seeds' four build types. Expected durations are typical warm builds; slow thresholds are the
    /// seeds' (javascript_web 120 s, flutter_web 300 s, flutter_android 600 s, flutter_ios 900 s).
    public static let `default`: BuildTypeCatalog = try! BuildTypeCatalog([
        BuildType(name: "javascript_web", expectedSeconds: 60, requiredTools: ["node"], slowThresholdSeconds: 120),
        BuildType(name: "flutter_web", expectedSeconds: 180, requiredTools: ["flutter"], slowThresholdSeconds: 300),
        BuildType(name: "flutter_android", expectedSeconds: 360, requiredTools: ["flutter", "android-sdk"], slowThresholdSeconds: 600),
        BuildType(name: "flutter_ios", expectedSeconds: 540, requiredTools: ["flutter", "xcode"], slowThresholdSeconds: 900),
    ])

    /// The build type called `name`, or `SchedulerError.unknownBuildType`.
    func type(named name: String) throws(SchedulerError) -> BuildType {
        guard let type = types[name] else { throw .unknownBuildType(name, known: types.keys.sorted()) }
        return type
    }
}
