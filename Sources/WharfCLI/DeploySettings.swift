import Configuration
import Deploy
import Foundation

/// The upload API's `deploy.*` keys (`WHARF_DEPLOY_…` variables override them):
/// `deploy.max_files` (10000), `deploy.max_bytes` (1073741824), `deploy.max_file_bytes`
/// (268435456). An app's registry entry (`--max-files`, `--max-bytes`) overrides the first two.
enum DeploySettings {
    static func read(_ loader: ConfigurationLoader) -> (UploadLimits, [ConfigurationLoader.Problem]) {
        var limits = UploadLimits()
        var problems: [ConfigurationLoader.Problem] = []
        func int(_ key: String) -> Int? {
            do { return try loader.reader.requiredInt(forKey: ConfigKey(key)) } catch {
                let text = String(describing: error)
                if !text.hasPrefix("Missing required config value") {
                    problems.append(.init(key: key, reason: "expected an integer (\(text))"))
                }
                return nil
            }
        }
        limits.maxFiles = int("deploy.max_files") ?? limits.maxFiles
        limits.maxBytes = int("deploy.max_bytes").map(Int64.init) ?? limits.maxBytes
        limits.maxFileBytes = int("deploy.max_file_bytes").map(Int64.init) ?? limits.maxFileBytes
        for line in limits.problems() {
            let parts = line.split(separator: ":", maxSplits: 1).map(String.init)
            problems.append(.init(key: parts[0], reason: parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : line))
        }
        return (limits, problems)
    }

    static func describe(_ limits: UploadLimits) -> String {
        "deploy: max_files \(limits.maxFiles), max_bytes \(limits.maxBytes), max_file_bytes \(limits.maxFileBytes)"
    }
}
