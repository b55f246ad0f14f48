import Foundation

/// What a caller asks to build. Validated at enqueue: bad input is refused and nothing is queued.
public struct JobRequest: Sendable, Equatable {
    public var app: String
    /// Who asked (a user, a bot, `system` for warming); fair share counts per app and per owner.
    public var owner: String
    public var buildType: String
    public var kind: JobKind
    /// A directory or an archive path holding the source, or a git commit (`GitSource.encoded`).
    public var source: String
    /// The shell command to run; nil means the app's configured build command.
    public var command: String?
    var target: String
    public var priorityHint: PriorityHint
    /// Hash of the dependency lock files (placement prefers a slot that has it installed).
    var dependencyHash: String?
    /// The build cache key when the caller computed it.
    var cacheKey: String?
    /// Switch the app's alias on success (false for `--no-activate`).
    var activate: Bool
    /// Skip the build cache lookup (`--force`, `"force": true`); the result is still cached.
    public var force: Bool
    /// Attempts in all, nil for the queue's retry policy.
    public var maxAttempts: Int?

    public init(
        app: String, owner: String = "", buildType: String, kind: JobKind = .manual, source: String,
        command: String? = nil, target: String = "", priorityHint: PriorityHint = .normal,
        dependencyHash: String? = nil, cacheKey: String? = nil, activate: Bool = true, maxAttempts: Int? = nil,
        force: Bool = false
    ) {
        self.app = app
        self.owner = owner
        self.buildType = buildType
        self.kind = kind
        self.source = source
        self.command = command
        self.target = target
        self.priorityHint = priorityHint
        self.dependencyHash = dependencyHash
        self.cacheKey = cacheKey
        self.activate = activate
        self.maxAttempts = maxAttempts
        self.force = force
    }

    /// Checks everything that does not need the database; `checkSourceExists` stats the source path.
    public func validate(catalog: BuildTypeCatalog, checkSourceExists: Bool) throws(SchedulerError) {
        guard Self.isValidAppName(app) else { throw .invalidApp(app) }
        guard owner.utf8.count <= 100, !owner.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .invalidOwner(owner)
        }
        _ = try catalog.type(named: buildType)
        guard !source.isEmpty, source.utf8.count <= 4096, !source.utf8.contains(0) else { throw .invalidSource(source) }
        if source.hasPrefix(GitSource.prefix) {
            guard GitSource(encoded: source) != nil else { throw .invalidSource(source) }
        } else if checkSourceExists, !FileManager.default.fileExists(atPath: source) {
            throw .missingSource(source)
        }
        if let maxAttempts, !(1...100).contains(maxAttempts) { throw .invalidAttempts(maxAttempts) }
    }

    static func isValidAppName(_ name: String) -> Bool {
        let bytes = name.utf8
        guard (1...100).contains(bytes.count) else { return false }
        return bytes.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                true
            default: false
            }
        }
    }
}
