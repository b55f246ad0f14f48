/// Every way a scheduler operation can be refused. Each case says what was wrong in its description.
public enum SchedulerError: Error, Equatable, Sendable, CustomStringConvertible {
    case unknownBuildType(String, known: [String])
    case invalidPriority(Int)
    case invalidApp(String)
    case invalidOwner(String)
    case invalidSource(String)
    case missingSource(String)
    case invalidAttempts(Int)
    case unknownJob(Int64)
    /// The job is in a state the operation cannot start from (e.g. cancelling a finished job).
    case invalidTransition(job: Int64, from: JobState, operation: String)
    /// The caller no longer holds the job's lease (it expired and was rescued, or another owner has it).
    case leaseLost(job: Int64, owner: String)
    case invalidConfiguration(String)

    public var description: String {
        switch self {
        case .unknownBuildType(let type, let known):
            "unknown build type '\(type)' (known: \(known.joined(separator: ", ")))"
        case .invalidPriority(let value): "invalid priority \(value): use 1 (low), 2 (normal) or 3 (release)"
        case .invalidApp(let app): "invalid app name '\(app)': 1-100 characters of A-Z a-z 0-9 . _ -"
        case .invalidOwner(let owner): "invalid owner '\(owner)': at most 100 printable characters"
        case .invalidSource(let source): "invalid source '\(source)': give a directory or archive path"
        case .missingSource(let source): "source '\(source)' does not exist"
        case .invalidAttempts(let n): "invalid attempt limit \(n): must be 1...100"
        case .unknownJob(let id): "no job with id \(id)"
        case .invalidTransition(let job, let from, let operation):
            "job \(job) is \(from.rawValue): cannot \(operation)"
        case .leaseLost(let job, let owner): "job \(job) is not leased by '\(owner)' any more"
        case .invalidConfiguration(let what): "invalid scheduler configuration: \(what)"
        }
    }
}
