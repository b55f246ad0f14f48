import Foundation

/// The dashboard's request checks, as pure functions of a request's headers and body: which
/// session a request carries, whether it comes from a page of this listener's own origin, and
/// whether it carries the session's CSRF token. Kept apart from the routes so each check can be
/// tried with hostile input alone.
enum DashboardGate {
    /// The session cookie's name (`__Host-` cannot be used: the cookie is scoped to `/_wharf/`).
    static let cookieName = "wharf_session"
    /// The header the pages' script sends the CSRF token in (forms send the field `csrf`).
    static let csrfHeader = "X-Wharf-CSRF"
    /// Largest form body the sign-in and sign-out routes read.
    static let maxFormBytes = 4096

    /// What a read-only session may GET besides the pages: the data the pages show (the Builds
    /// page's live log included: `/_wharf/api/builds/{id}/log`, and the app-scoped build routes
    /// under `/_wharf/api/apps`), nothing of the registry (its token lists are an
    /// administrator's business).
    static let readablePrefixes = [
        "/_wharf/api/status", "/_wharf/api/alerts", "/_wharf/api/jobs", "/_wharf/api/slots",
        "/_wharf/api/apps", "/_wharf/api/dashboard/", "/_wharf/api/builds/",
    ]

    /// The value of the session cookie among every `Cookie` field (the last one wins if a
    /// client sends it twice); nil when absent or not 64 hex digits.
    static func sessionID(_ headers: [AdminRequest.Header]) -> String? {
        var found: String?
        for header in headers where header.name.lowercased() == "cookie" {
            for pair in header.value.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2, parts[0].trimmingSpaces == cookieName else { continue }
                found = String(parts[1].trimmingSpaces)
            }
        }
        guard let found, found.utf8.count == 64, found.utf8.allSatisfy(isHexDigit) else { return nil }
        return found
    }

    private static func isHexDigit(_ b: UInt8) -> Bool { (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x66) }

    /// True when the request says it comes from another site or origin. `Sec-Fetch-Site` (set
    /// by the browser, never by a page) decides when present: anything but `same-origin`/`none`
    /// is cross-site. Without it, an `Origin` that is not this listener's own
    /// (`http[s]://<Host>`; `null` included) is. Why Fetch Metadata first: under the pages'
    /// `Referrer-Policy: no-referrer` browsers send `Origin: null` on their own same-origin form
    /// and fetch POSTs. A request with neither field (curl, scripts) is not cross-site by this
    /// test; it still needs the CSRF token.
    static func isCrossSite(_ request: AdminRequest, tls: Bool) -> Bool {
        if let site = request.header("Sec-Fetch-Site")?.lowercased() {
            return site != "same-origin" && site != "none"
        }
        if let origin = request.header("Origin") {
            guard let host = request.header("Host"), !host.isEmpty else { return true }
            return origin.lowercased() != (tls ? "https://" : "http://") + host.lowercased()
        }
        return false
    }

    /// Whether the request carries `session`'s CSRF token, in the header or (forms) in `form`.
    static func carriesCSRF(_ request: AdminRequest, session: DashboardSessions.Session, form: [String: String]? = nil) -> Bool {
        let presented = request.header(csrfHeader) ?? form?["csrf"] ?? ""
        return AdminToken(session.csrf).matches(Array(presented.utf8))
    }

    /// `application/x-www-form-urlencoded` fields (at most 16, each name and value percent-decoded);
    /// nil for a body over `maxFormBytes` or one that does not decode.
    static func form(_ body: [UInt8]) -> [String: String]? {
        guard body.count <= maxFormBytes else { return nil }
        let text = String(decoding: body, as: UTF8.self)
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            guard fields.count < 16 else { return nil }
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String? { String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding }
            guard let name = decode(parts[0]), let value = parts.count > 1 ? decode(parts[1]) : "" else { return nil }
            fields[name] = value
        }
        return fields
    }

    /// The decision on an admin API request that has no bearer token.
    enum Decision {
        /// A live session may make this request; `isAdmin` as its role.
        case allowed(isAdmin: Bool)
        /// A live session may not (cross-site, no CSRF token, read-only): this answer.
        case refused(AdminResponse)
    }

    /// For an `/_wharf/api/` request carrying a live session's cookie: whether it may proceed.
    /// nil when there is no such session (the caller answers 401 as for any request without a token).
    static func decide(_ request: AdminRequest, sessions: DashboardSessions, tls: Bool) -> Decision? {
        guard request.path.hasPrefix(AdminRoutes.apiPrefix), let id = sessionID(request.headers),
            let session = sessions.session(id)
        else { return nil }
        if request.method == "GET" || request.method == "HEAD" {
            if session.role == .read, !readablePrefixes.contains(where: { request.path.hasPrefix($0) }) {
                return .refused(.error(403, "a read-only session cannot see this"))
            }
            return .allowed(isAdmin: session.role == .admin)
        }
        guard session.role == .admin else { return .refused(.error(403, "a read-only session cannot change anything")) }
        if isCrossSite(request, tls: tls) { return .refused(.error(403, "cross-site request refused")) }
        guard carriesCSRF(request, session: session) else { return .refused(.error(403, "missing or wrong CSRF token")) }
        return .allowed(isAdmin: true)
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var s = self
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return s
    }
}
