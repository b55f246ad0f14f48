import Foundation

extension JobSubmission {
    /// The job for a push to an app's branch: its git commit as the source, kind `user_push` (the
    /// highest kind weight, so a push goes before manual, retry and warm builds), the app's build
    /// command and output directory (the scheduler's defaults when the registry leaves them unset).
    /// Unlike `request(...)` nothing is checked on disk: the source does not exist until the build
    /// fetches it.
    public static func pushRequest(
        app: String, buildType: String, source: GitSource, command: String?, output: String?,
        owner: String, defaults: Defaults, catalog: BuildTypeCatalog
    ) throws -> JobRequest {
        let effective = command ?? defaults.command
        guard !effective.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, effective.utf8.count <= 8192,
            !effective.utf8.contains(0)
        else { throw Problem.invalidCommand }
        let out = output ?? defaults.output
        guard isValidOutput(out) else { throw Problem.invalidOutput(out) }
        let wrapped = out != defaults.output ? wrap(effective, output: out, into: defaults.output) : command
        let request = JobRequest(
            app: app, owner: owner, buildType: buildType, kind: .user_push, source: source.encoded,
            command: wrapped, priorityHint: .normal, activate: true)
        try request.validate(catalog: catalog, checkSourceExists: false)
        return request
    }
}
