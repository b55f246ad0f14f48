import Foundation

/// One request to a deploy route, as plain values (the CLI wiring adapts the admin server's
/// request to it, so this module does not depend on the edge).
public struct DeployRequest: Sendable {
    public var method: String
    /// Values of the route pattern's `{name}` segments.
    public var parameters: [String: String]
    /// Header fields, names lower-cased.
    public var headers: [String: String]
    /// Query parameters (decoded).
    public var query: [String: String] = [:]
    public var body: [UInt8]
    /// Upload routes: the body received into a file, with its size and SHA-256 (hex).
    public var upload: (path: String, size: Int, sha256: String)?
    /// The bearer credential presented, when the server left checking it to the route.
    public var credential: String?
    /// The request carried the admin token.
    public var isAdmin: Bool

    public init(
        method: String, parameters: [String: String] = [:], headers: [String: String] = [:], body: [UInt8] = [],
        upload: (path: String, size: Int, sha256: String)? = nil, credential: String? = nil, isAdmin: Bool = false
    ) {
        self.method = method
        self.parameters = parameters
        self.headers = headers
        self.body = body
        self.upload = upload
        self.credential = credential
        self.isAdmin = isAdmin
    }

    func parameter(_ name: String) -> String { parameters[name] ?? "" }
}

/// What a deploy route answers: a status and a JSON body.
public struct DeployResponse: Sendable {
    public var status: Int
    public var body: [UInt8]

    public init(status: Int, body: [UInt8]) {
        self.status = status
        self.body = body
    }

    /// `value` as JSON with sorted keys.
    static func json<T: Encodable>(_ value: T, status: Int = 200) -> DeployResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = (try? encoder.encode(value)).map(Array.init) ?? Array(#"{"error":"response could not be encoded"}"#.utf8)
        return DeployResponse(status: status, body: body)
    }
}

/// A refusal with an HTTP status and a message for the client (`{"error": message}`).
public struct DeployError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    public var message: String
    /// Extra JSON fields for the body (e.g. the blobs still missing), as strings → string lists.
    public var details: [String: [String]]

    public init(_ status: Int, _ message: String, details: [String: [String]] = [:]) {
        self.status = status
        self.message = message
        self.details = details
    }

    public var description: String { "\(status): \(message)" }

    /// The error as a response body.
    public var response: DeployResponse {
        struct Body: Encodable {
            var error: String
            var details: [String: [String]]
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: DynamicKey.self)
                try container.encode(error, forKey: DynamicKey("error"))
                for (key, value) in details { try container.encode(value, forKey: DynamicKey(key)) }
            }
        }
        return .json(Body(error: message, details: details), status: status)
    }
}

struct DynamicKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ s: String) { stringValue = s }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
