/// Alert details as the API spells them: camelCase keys. Alerts stored before the API settled on
/// camelCase hold snake_case detail keys (`threshold_seconds`, `dominant_stages`) in their database
/// rows; reading a row renames them, so the alerts API, the webhook and the dashboard see one
/// spelling whatever the row's age. Values (an alert kind such as `slow_build`) are data and stay.
enum AlertDetailKeys {
    /// `details` with every object key in camelCase, nested objects included.
    static func camelCased(_ details: [String: AlertValue]) -> [String: AlertValue] {
        Dictionary(details.map { (camelCase($0.key), camelCased($0.value)) }, uniquingKeysWith: { new, _ in new })
    }

    static func camelCased(_ value: AlertValue) -> AlertValue {
        switch value {
        case .object(let object): .object(camelCased(object))
        case .objects(let objects): .objects(objects.map(camelCased))
        case .string, .number, .strings: value
        }
    }

    /// `threshold_seconds` → `thresholdSeconds`. Only the old detail keys are renamed, so a map whose
    /// keys are data (`byKind`: `user_push` → count) keeps them.
    static func camelCase(_ key: String) -> String {
        renamed[key] ?? key
    }

    /// Every detail key written in snake_case before the convention, and its new spelling.
    static let renamed: [String: String] = [
        "job_id": "jobId", "build_type": "buildType", "duration_seconds": "durationSeconds",
        "threshold_seconds": "thresholdSeconds", "dominant_stages": "dominantStages",
        "elapsed_seconds": "elapsedSeconds", "warning_after_seconds": "warningAfterSeconds",
        "failure_rate": "failureRate", "window_seconds": "windowSeconds", "average_seconds": "averageSeconds",
        "by_kind": "byKind", "baseline_share": "baselineShare", "window_s": "windowSeconds",
    ]
}
