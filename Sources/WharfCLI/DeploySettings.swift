import Deploy
import Foundation

/// The upload API's `deploy.*` keys (`WHARF_DEPLOY_…` variables override them):
/// `deploy.max_files` (10000), `deploy.max_bytes` (1073741824), `deploy.max_file_bytes`
/// (268435456). An app's registry entry (`--max-files`, `--max-bytes`) overrides the first two.
enum DeploySettings {
    /// Reads the `DeployKeys` into limits; every problem goes to `loader`.
    static func read(_ loader: inout ConfigurationLoader) -> UploadLimits {
        var limits = UploadLimits()
        limits.maxFiles = loader.present(DeployKeys.maxFiles) ?? limits.maxFiles
        limits.maxBytes = loader.present(DeployKeys.maxBytes).map(Int64.init) ?? limits.maxBytes
        limits.maxFileBytes = loader.present(DeployKeys.maxFileBytes).map(Int64.init) ?? limits.maxFileBytes
        for line in limits.problems() {
            let parts = line.split(separator: ":", maxSplits: 1).map(String.init)
            loader.problems.append(.init(key: parts[0], reason: parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : line))
        }
        return limits
    }

    static func describe(_ limits: UploadLimits) -> String {
        "deploy: max_files \(limits.maxFiles), max_bytes \(limits.maxBytes), max_file_bytes \(limits.maxFileBytes)"
    }
}
