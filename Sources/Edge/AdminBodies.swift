/// The JSON bodies of the edge's admin routes, checked for shape before any handler acts:
/// pure functions of the body bytes (so `make fuzz` runs them alone, with `AdminJSON`).
/// Every malformed body is an `AdminError` with status 400 that names the problem.
enum AdminBodies {
    /// `POST /_wharf/api/warm`: `{"app": "demo", "paths": ["/index.html", …], "encodings": ["br", …]}`.
    struct Warm: Equatable {
        var app: String
        var paths: [String]
        /// Encoding tokens as sent (nil: every representation); at most 8.
        var encodings: [String]?
    }

    static func warm(_ body: [UInt8]) throws -> Warm {
        guard let object = try AdminJSON.object(body) else { throw AdminError(400, "a JSON object body is required") }
        try object.allowOnly(["app", "paths", "encodings"])
        guard let app = try object.string("app"), !app.isEmpty else { throw AdminError(400, "wrong shape: \"app\" (a string) is required") }
        guard let paths = try object.strings("paths") else { throw AdminError(400, "wrong shape: \"paths\" (an array of strings) is required") }
        for path in paths where !path.hasPrefix("/") {
            throw AdminError(400, "path \"\(path)\" must start with /")
        }
        return Warm(app: app, paths: paths, encodings: try object.strings("encodings", maxCount: 8))
    }

    /// `POST /_wharf/api/apps/{app}/rollback`: optional `{"to": "<deployment id>"}`; the target, if any.
    static func rollback(_ body: [UInt8]) throws -> String? {
        guard let object = try AdminJSON.object(body, optional: true) else { return nil }
        try object.allowOnly(["to"])
        let to = try object.string("to")
        if let to, to.isEmpty { throw AdminError(400, "\"to\" must not be empty") }
        return to
    }

    /// `POST /_wharf/api/apps/{app}/purge`: no body, or `{}`.
    static func purge(_ body: [UInt8]) throws {
        if let object = try AdminJSON.object(body, optional: true) { try object.allowOnly([]) }
    }
}
