import Foundation

/// The JSON body of `POST /_wharf/api/jobs`, checked for shape: one object with only the known
/// keys, strings where strings go, `priority` a string or an integer, `activate` a boolean, and
/// `app`, `type`, `source` present. Pure (Foundation only), so `make fuzz` runs it alone; what the
/// values mean is `JobSubmission`'s to check.
public struct JobSubmissionBody: Equatable, Sendable {
    public var app: String
    public var type: String
    public var source: String
    public var cmd: String?
    public var output: String?
    /// As sent: a word, or an integer written in decimal.
    public var priority: String?
    public var kind: String?
    public var activate: Bool
    public var owner: String
    /// Skip the build cache lookup (default false).
    public var force: Bool = false

    /// A refusal, with the message the 400 carries.
    public struct Problem: Error, Equatable, Sendable {
        public var message: String
    }

    public static let keys: Set<String> = ["app", "type", "source", "cmd", "output", "priority", "kind", "activate", "owner", "force"]

    public static func parse(_ body: [UInt8]) throws(Problem) -> JobSubmissionBody {
        guard !body.isEmpty else { throw Problem(message: "a JSON object body is required") }
        let parsed: Any
        do { parsed = try JSONSerialization.jsonObject(with: Data(body)) } catch {
            throw Problem(message: "malformed JSON: the body is not valid JSON")
        }
        guard let object = parsed as? [String: Any] else { throw Problem(message: "wrong shape: the body must be a JSON object") }
        if let extra = object.keys.sorted().first(where: { !keys.contains($0) }) {
            throw Problem(message: "unknown key \"\(extra)\" (allowed: \(keys.sorted().joined(separator: ", ")))")
        }
        struct Fields: Decodable {
            var app: String?, type: String?, source: String?, cmd: String?, output: String?, kind: String?, owner: String?
            var activate: Bool?
            var force: Bool?
            var priority: Priority?
            enum Priority: Decodable {
                case text(String)
                case number(Int)
                init(from decoder: any Decoder) throws {
                    let container = try decoder.singleValueContainer()
                    if let number = try? container.decode(Int.self) {
                        self = .number(number)
                    } else {
                        self = .text(try container.decode(String.self))
                    }
                }
            }
        }
        let fields: Fields
        do { fields = try JSONDecoder().decode(Fields.self, from: Data(body)) } catch {
            throw Problem(
                message:
                    "wrong shape: app, type, source, cmd, output, kind, owner are strings; priority a string or 1...3; activate and force true or false"
            )
        }
        guard let app = fields.app, let type = fields.type, let source = fields.source else {
            throw Problem(message: "\"app\", \"type\" and \"source\" are required")
        }
        let priority: String? =
            switch fields.priority {
            case .some(.text(let text)): text
            case .some(.number(let number)): String(number)
            case .none: nil
            }
        return JobSubmissionBody(
            app: app, type: type, source: source, cmd: fields.cmd, output: fields.output,
            priority: priority, kind: fields.kind, activate: fields.activate ?? true, owner: fields.owner ?? "",
            force: fields.force ?? false)
    }
}
