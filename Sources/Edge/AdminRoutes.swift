import Foundation
import Synchronization

/// One admin API request, as a handler sees it: plain values only, so modules that do not
/// import HTTPCore (the scheduler) can be adapted to it in the CLI wiring.
public struct AdminRequest: Sendable {
    /// The method token, e.g. "GET", "POST" (HEAD requests reach GET handlers as "GET").
    public var method: String
    /// The decoded, normalised path, e.g. "/_wharf/api/apps/demo/rollback".
    public var path: String
    /// The raw query after "?", or nil.
    public var query: String?
    /// Header fields in the order received (names as sent).
    public var headers: [Header]
    /// The request body (de-chunked), at most the server's body limit.
    public var body: [UInt8]
    /// Values of the pattern's `{name}` segments.
    public var parameters: [String: String]
    /// The path segments a trailing `*` of the pattern matched, joined by "/" ("" when none).
    public var remainder: String
    /// Routes with `.delegated` access: the bearer credential presented (the handler checks
    /// it); nil on other routes, whose token the server has already checked.
    public var credential: String?
    /// True when the request carried the admin token.
    public var isAdmin = false
    /// True for a read-only dashboard session (the read token's cookie) that `DashboardGate`
    /// has let through to a GET route on its read list: such a request has no credential, and
    /// `.delegated` handlers give it read access to every app, as the dashboard shows every app.
    public var isReadSession = false
    /// Upload routes: the body, streamed to a file; the handler moves the file away or leaves
    /// it to be deleted once it returns.
    public var upload: AdminUploadedBody?

    public struct Header: Sendable, Equatable {
        public var name: String
        public var value: String
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public init(
        method: String, path: String, query: String? = nil, headers: [Header] = [], body: [UInt8] = [],
        parameters: [String: String] = [:], remainder: String = ""
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.parameters = parameters
        self.remainder = remainder
    }

    /// The first value of a header, compared case-insensitively.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }

    /// The query as name → value pairs (percent-decoded; `+` is a space; last one wins).
    public var queryItems: [String: String] {
        guard let query, !query.isEmpty else { return [:] }
        var items: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String {
                (String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding) ?? String(s)
            }
            items[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return items
    }
}

/// Who may call a route.
public enum AdminAccess: Sendable {
    /// The admin token only; anything else gets 401 before the handler runs.
    case admin
    /// Any bearer credential (no header at all: 401); the handler decides with
    /// `AdminRequest.credential` and `isAdmin` (e.g. per-app deploy tokens).
    case delegated
}

/// A route whose request body is streamed to a temporary file instead of memory.
public struct AdminUploadTarget: Sendable {
    /// Where temporary files are made (same file system as where the handler moves them).
    public var directory: String
    /// Largest body accepted; over it: 413 and a close, the partial file removed.
    public var maxBytes: Int
    public init(directory: String, maxBytes: Int) {
        self.directory = directory
        self.maxBytes = maxBytes
    }
}

/// A request body received into a file, with its size and SHA-256 computed while it arrived.
public struct AdminUploadedBody: Sendable {
    public var path: String
    public var size: Int
    /// SHA-256 of the bytes, 64 lower-case hex digits.
    public var sha256: String
    public init(path: String, size: Int, sha256: String) {
        self.path = path
        self.size = size
        self.sha256 = sha256
    }
}

/// The next piece of a streamed response body.
public enum AdminStreamChunk: Sendable, Equatable {
    /// Bytes to send now (keep each at most a few tens of KiB: one chunk is all a connection holds).
    case bytes([UInt8])
    /// Nothing new yet: asked again after a short pause (250 ms).
    case wait
    /// The body is complete.
    case end
}

/// A response body produced while it is sent (e.g. a build log that is still growing). `next()`
/// runs on the thread pool, one call at a time, and is called again only after the previous chunk
/// was handed to the kernel, so a client that stops reading stops the producer: memory stays at one
/// chunk per connection. A stream whose write makes no progress for the idle timeout is closed.
public protocol AdminBodyStream: Sendable {
    func next() throws -> AdminStreamChunk
}

/// What a handler answers: a status and a body (JSON unless `contentType` says otherwise).
public struct AdminResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]
    /// Extra header fields (CR, LF and NUL are stripped when written).
    public var headers: [AdminRequest.Header]
    /// When set, the body is this stream (sent chunked, then the connection closes) and `body` is ignored.
    public var stream: (any AdminBodyStream)?

    public init(status: Int, body: [UInt8], contentType: String = "application/json", headers: [AdminRequest.Header] = []) {
        self.status = status
        self.body = body
        self.contentType = contentType
        self.headers = headers
    }

    /// `{"error": message}` with `status`.
    public static func error(_ status: Int, _ message: String) -> AdminResponse {
        AdminResponse(status: status, body: AdminJSON.encode(["error": message]))
    }
}

/// Thrown by a handler to answer with a status and `{"error": message}` (4xx for bad requests).
public struct AdminError: Error, Sendable, CustomStringConvertible {
    public var status: Int
    public var message: String
    public init(_ status: Int, _ message: String) {
        self.status = status
        self.message = message
    }
    public var description: String { "\(status): \(message)" }
}

/// A route handler. Runs on libuv's thread pool (never on the admin loop), so it may block on
/// SQLite or disk; keep it short (the pool is shared with the edge's body loads).
public typealias AdminHandler = @Sendable (AdminRequest) throws -> AdminResponse

/// The admin API's route table. Built-in routes are registered by `AdminServer`; other modules
/// add theirs under `/_wharf/api/` through the CLI wiring, before or after the server starts.
///
/// Patterns are paths whose segments are literals, `{name}` (exactly one segment, delivered in
/// `AdminRequest.parameters`) or, last only, `*` (any number of further segments, delivered in
/// `AdminRequest.remainder`). The most specific match wins (more literal segments, then fewer
/// wildcards). A path that matches some route but not for the method gets 405 with `Allow`.
public final class AdminRoutes: Sendable {
    /// Why a registration was refused.
    public enum RegistrationError: Error, Equatable, CustomStringConvertible {
        case outsideAPI(String)
        case invalidPattern(String)
        case duplicate(method: String, pattern: String)

        public var description: String {
            switch self {
            case .outsideAPI(let p): "route \(p) must be under \(AdminRoutes.apiPrefix)"
            case .invalidPattern(let p): "route pattern \(p) is invalid (segments: literal, {name}, or a final *)"
            case .duplicate(let m, let p): "route \(m) \(p) is already registered"
            }
        }
    }

    /// Where routes of other modules must live.
    public static let apiPrefix = "/_wharf/api/"

    struct Route: Sendable {
        enum Segment: Sendable, Equatable {
            case literal(String)
            case parameter(String)
            case rest
        }
        var method: String
        var pattern: String
        var segments: [Segment]
        var requiresToken: Bool
        var access: AdminAccess = .admin
        var upload: AdminUploadTarget?
        var handler: AdminHandler

        var literalCount: Int { segments.filter { if case .literal = $0 { true } else { false } }.count }
        var hasRest: Bool { segments.last == .rest }
    }

    /// A resolved request: the route and what its pattern captured.
    struct Match: Sendable {
        var route: Route
        var parameters: [String: String]
        var remainder: String
    }

    /// The outcome of looking a request up.
    enum Lookup: Sendable {
        case found(Match)
        /// The path exists for these other methods.
        case wrongMethod(allowed: [String])
        case notFound
    }

    private let routes = Mutex<[Route]>([])

    public init() {}

    /// Registers `handler` for `method` (e.g. "GET", "POST") on `pattern`, which must start with
    /// `/_wharf/api/`. Every such route requires the bearer token.
    public func register(_ method: String, _ pattern: String, _ handler: @escaping AdminHandler) throws {
        try register(method, pattern, access: .admin, handler)
    }

    /// Registers a route with `access` (who may call it) and, for `upload`, a body streamed to
    /// a file rather than held in memory (`AdminRequest.upload`).
    public func register(
        _ method: String, _ pattern: String, access: AdminAccess, upload: AdminUploadTarget? = nil,
        _ handler: @escaping AdminHandler
    ) throws {
        guard pattern.hasPrefix(AdminRoutes.apiPrefix) else { throw RegistrationError.outsideAPI(pattern) }
        try add(method, pattern, requiresToken: true, access: access, upload: upload, handler)
    }

    /// Where webhook routes live (`registerHook`).
    public static let hookPrefix = "/_wharf/hooks/"

    /// Registers a webhook route under `/_wharf/hooks/`. `access: nil` means no bearer token is
    /// asked for (the handler authenticates, e.g. by a signature over the body, before acting);
    /// `.delegated` hands the bearer credential to the handler as on API routes.
    public func registerHook(_ method: String, _ pattern: String, access: AdminAccess?, _ handler: @escaping AdminHandler) throws {
        guard pattern.hasPrefix(AdminRoutes.hookPrefix) else { throw RegistrationError.invalidPattern(pattern) }
        try add(method, pattern, requiresToken: access != nil, access: access ?? .admin, handler)
    }

    /// Any path under `/_wharf/`; `requiresToken: false` only for the health check and signed hooks.
    func add(
        _ method: String, _ pattern: String, requiresToken: Bool, access: AdminAccess = .admin,
        upload: AdminUploadTarget? = nil, _ handler: @escaping AdminHandler
    ) throws {
        let method = method.uppercased()
        guard pattern.hasPrefix("/_wharf/"), !method.isEmpty,
            method.utf8.allSatisfy({ $0 >= 0x41 && $0 <= 0x5A })
        else { throw RegistrationError.invalidPattern(pattern) }
        let parts = pattern.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        var segments: [Route.Segment] = []
        var names = Set<String>()
        for (i, part) in parts.enumerated() {
            if part == "*" {
                guard i == parts.count - 1 else { throw RegistrationError.invalidPattern(pattern) }
                segments.append(.rest)
            } else if part.hasPrefix("{") && part.hasSuffix("}") && part.count > 2 {
                let name = String(part.dropFirst().dropLast())
                guard names.insert(name).inserted else { throw RegistrationError.invalidPattern(pattern) }
                segments.append(.parameter(name))
            } else if part.isEmpty && i == parts.count - 1 && i > 0 {
                segments.append(.literal(""))  // a trailing slash, as in "/_wharf/"
            } else if part.isEmpty || part.contains("{") || part.contains("}") || part.contains("*") {
                throw RegistrationError.invalidPattern(pattern)
            } else {
                segments.append(.literal(String(part)))
            }
        }
        let route = Route(
            method: method, pattern: pattern, segments: segments, requiresToken: requiresToken,
            access: access, upload: upload, handler: handler)
        try routes.withLock { table in
            if table.contains(where: { $0.method == method && $0.segments == segments }) {
                throw RegistrationError.duplicate(method: method, pattern: pattern)
            }
            table.append(route)
        }
    }

    /// Removes a route (e.g. when the module that added it stops); true if it was there.
    @discardableResult
    public func unregister(_ method: String, _ pattern: String) -> Bool {
        let method = method.uppercased()
        return routes.withLock { table in
            let before = table.count
            table.removeAll { $0.method == method && $0.pattern == pattern }
            return table.count != before
        }
    }

    /// Every registered route as "METHOD pattern", sorted (for logs and tests).
    public var registered: [String] {
        routes.withLock { $0.map { "\($0.method) \($0.pattern)" } }.sorted()
    }

    /// Finds the most specific route for `method` and `path` (HEAD is looked up as GET).
    func lookup(method: String, path: String) -> Lookup {
        let method = method == "HEAD" ? "GET" : method
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        let table = routes.withLock { $0 }
        var best: Match?
        var allowed = Set<String>()
        for route in table {
            guard let match = AdminRoutes.match(route, segments) else { continue }
            guard route.method == method else {
                allowed.insert(route.method)
                continue
            }
            if let current = best, !AdminRoutes.isMoreSpecific(route, than: current.route) { continue }
            best = match
        }
        if let best { return .found(best) }
        if !allowed.isEmpty {
            if allowed.contains("GET") { allowed.insert("HEAD") }
            return .wrongMethod(allowed: allowed.sorted())
        }
        return .notFound
    }

    private static func isMoreSpecific(_ a: Route, than b: Route) -> Bool {
        if a.literalCount != b.literalCount { return a.literalCount > b.literalCount }
        return !a.hasRest && b.hasRest
    }

    private static func match(_ route: Route, _ path: [String]) -> Match? {
        var parameters: [String: String] = [:]
        for (i, segment) in route.segments.enumerated() {
            switch segment {
            case .rest:
                return Match(route: route, parameters: parameters, remainder: path[i...].joined(separator: "/"))
            case .literal(let literal):
                guard i < path.count, path[i] == literal else { return nil }
            case .parameter(let name):
                guard i < path.count, !path[i].isEmpty else { return nil }
                parameters[name] = path[i]
            }
        }
        guard path.count == route.segments.count else { return nil }
        return Match(route: route, parameters: parameters, remainder: "")
    }
}
