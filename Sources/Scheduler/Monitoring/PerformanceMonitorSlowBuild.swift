import Foundation

/// Why a build was slow: its figures, the stages that took more than the dominant share of its time,
/// and what to try for each. Pure: the monitor turns it into a `slow_build` alert.
struct SlowBuildAnalysis: Sendable, Equatable {
    /// A stage that dominated the build.
    public struct Stage: Sendable, Equatable {
        public var name: String
        public var seconds: Double
        /// Of the build's total time, 0...1.
        public var share: Double
        var suggestion: String
    }

    public var jobID: Int64
    public var app: String
    public var buildType: String
    public var seconds: Double
    var threshold: Double
    /// Stages over the dominant share, longest first.
    var dominantStages: [Stage]
    /// One suggestion per dominant stage (a general one when no stage dominates), without repeats.
    var suggestions: [String]

    /// The analysis of `record`, or nil when it is within `threshold` (or was a cache hit or cancelled).
    static func analyse(_ record: BuildRecord, threshold: Double, dominantShare: Double) -> SlowBuildAnalysis? {
        guard record.countsAsBuild, record.seconds > threshold, record.seconds > 0 else { return nil }
        let stages = record.stageDurations
            .map { Stage(name: $0.key, seconds: $0.value, share: $0.value / record.seconds, suggestion: suggestion(forStage: $0.key)) }
            .filter { $0.share > dominantShare }
            .sorted { ($0.seconds, $1.name) > ($1.seconds, $0.name) }
        var suggestions: [String] = []
        for stage in stages where !suggestions.contains(stage.suggestion) { suggestions.append(stage.suggestion) }
        if suggestions.isEmpty {
            suggestions = [
                "No stage took more than \(percent(dominantShare)) of the time: mark the build's steps with "
                    + "`::stage NAME` lines to see where it goes, and compare with earlier builds of this app."
            ]
        }
        return SlowBuildAnalysis(
            jobID: record.jobID, app: record.app, buildType: record.buildType, seconds: record.seconds,
            threshold: threshold, dominantStages: stages, suggestions: suggestions)
    }

    /// What a stage's name suggests doing, by the kind of work its name says it does.
    static func suggestion(forStage name: String) -> String {
        let n = name.lowercased()
        let words: (([String]) -> Bool) = { keys in keys.contains { n.contains($0) } }
        if words(["dep", "install", "fetch", "download", "restore", "pub_get", "pub-get", "packages", "resolve", "npm", "yarn", "pod"]) {
            return "Dependencies: keep a dependency cache on the build slots (keyed by the lock file) or use a nearby registry mirror."
        }
        if words(["optimi", "minif", "uglif", "terser", "tree", "shak", "obfusc"]) {
            return "Optimisation: use lower optimisation levels for non-release builds (e.g. --profile, dart2js -O1, no minification) "
                + "and more parallelism (more workers, -j)."
        }
        if words(["compil", "build", "dart2js", "tsc", "kotlin", "gradle", "swiftc", "xcodebuild", "assemble", "transpil"]) {
            return "Compilation: use incremental builds (keep the build directory or compiler cache between builds of the same app)."
        }
        return "Stage '\(name)': read its section of the build log for the slowest step; cache its inputs or split it to run in parallel."
    }

    /// The `slow_build` alert. Its key is per app and build type: further slow builds of the same app and
    /// type count up the same alert, and the next build within the threshold resolves it.
    var condition: AlertCondition {
        let dominant = dominantStages.map { "\($0.name) \(Self.percent($0.share))" }
        let summary =
            "slow build: job \(jobID) (\(app), \(buildType)) took \(Self.seconds(seconds)), threshold \(Self.seconds(threshold))"
            + (dominant.isEmpty ? "" : "; " + dominant.joined(separator: ", "))
        let stageDetails: [[String: AlertValue]] = dominantStages.map {
            [
                "name": .string($0.name), "seconds": .number(Self.rounded($0.seconds)), "share": .number(Self.rounded($0.share)),
                "suggestion": .string($0.suggestion),
            ]
        }
        return AlertCondition(
            key: Self.key(app: app, buildType: buildType), kind: .slow_build, severity: .warning, summary: summary,
            details: [
                "jobId": .number(Double(jobID)), "app": .string(app), "buildType": .string(buildType),
                "durationSeconds": .number(Self.rounded(seconds)), "thresholdSeconds": .number(threshold),
                "dominantStages": .objects(stageDetails), "suggestions": .strings(suggestions),
            ])
    }

    /// The dedupe key of slow builds of one app and build type.
    static func key(app: String, buildType: String) -> String { "slow_build:\(app):\(buildType)" }

    static func percent(_ share: Double) -> String { "\(Int((share * 100).rounded()))%" }
    /// Whole seconds, or one decimal under 10 s when that is not whole ("0.5 s", "420 s").
    static func seconds(_ s: Double) -> String {
        if s < 10, (s * 10).rounded() != (s.rounded() * 10) { return String(format: "%.1f s", s) }
        return "\(Int(s.rounded())) s"
    }
    static func rounded(_ v: Double) -> Double { (v * 1000).rounded() / 1000 }
}
