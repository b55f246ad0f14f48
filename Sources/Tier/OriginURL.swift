/// Where a tier edge's origin is: `https://HOST:PORT` or `http://HOST:PORT` (the origin's admin
/// listener; HTTPS when the origin runs it with `edge.admin_tls`, which it must off loopback), with
/// an optional path prefix in front of `/_wharf/…` (a reverse proxy's mount).
public struct OriginURL: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var prefix: String
    /// `https`: the connection is TLS, the certificate checked against `host`.
    public var isSecure: Bool

    /// Why a URL was refused.
    public struct Invalid: Error, Sendable, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }

    public init(_ text: String) throws {
        guard text.utf8.count <= 2048, !text.utf8.contains(where: { $0 <= 0x20 || $0 >= 0x7F }) else {
            throw Invalid(reason: "the origin URL holds spaces, controls or non-ASCII characters")
        }
        let secure = text.hasPrefix("https://")
        guard secure || text.hasPrefix("http://") else {
            throw Invalid(reason: "the origin URL must start with https:// or http:// (got '\(text.prefix(80))')")
        }
        var rest = Substring(text.dropFirst(secure ? "https://".count : "http://".count))
        var path = ""
        if let slash = rest.firstIndex(of: "/") {
            path = String(rest[slash...])
            rest = rest[..<slash]
        }
        while path.hasSuffix("/") { path.removeLast() }
        guard !path.contains("?"), !path.contains("#"), !path.contains("@") else {
            throw Invalid(reason: "the origin URL may hold a path prefix only")
        }
        var host = String(rest)
        var port = secure ? 443 : 80
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw Invalid(reason: "unterminated IPv6 address in the origin URL") }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let p = Int(after.dropFirst()) else { throw Invalid(reason: "bad port in the origin URL") }
                port = p
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = String(rest[..<colon])
            guard let p = Int(rest[rest.index(after: colon)...]) else { throw Invalid(reason: "bad port in the origin URL") }
            port = p
        }
        guard !host.isEmpty, !host.contains("@") else { throw Invalid(reason: "the origin URL has no host") }
        guard (1...65535).contains(port) else { throw Invalid(reason: "port \(port) is out of range") }
        self.host = host
        self.port = port
        self.prefix = path
        self.isSecure = secure
    }

    public var description: String {
        "\(isSecure ? "https" : "http")://\(host.contains(":") ? "[\(host)]" : host):\(port)\(prefix)"
    }
}
