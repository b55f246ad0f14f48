/// The upload API's `deploy.*` quotas. Defaults are `UploadLimits`' (a test checks).
enum DeployKeys {
    static let maxFiles = SettingKey<Int>(
        "deploy.max_files", 10000, .within(1, 1_000_000),
        "files in one uploaded deployment (an app's --max-files overrides)")
    static let maxBytes = SettingKey<Int>(
        "deploy.max_bytes", 1 << 30, .within(1, Double(1 << 40)), "bytes of one uploaded deployment (an app's --max-bytes overrides)")
    static let maxFileBytes = SettingKey<Int>(
        "deploy.max_file_bytes", 256 << 20, .within(1, Double(512 << 20)), "bytes of one file and one upload body")

    static let keys: [KeyDescriptor] = [maxFiles.descriptor, maxBytes.descriptor, maxFileBytes.descriptor]
}
