/// A webhook address: `http://host[:port][/path][?query]`. Only plain HTTP is supported (no TLS
/// client in Wharf): point it at a receiver on a trusted network or a local relay that adds TLS.
public struct WebhookURL: Sendable, Equatable, CustomStringConvertible {
    var host: String
    var port: Int
    /// The request target: path and query, at least "/".
    var target: String

    /// Why an address was refused.
    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case httpsNotSupported
        case notHTTP(String)
        case invalid(String)

        public var description: String {
            switch self {
            case .httpsNotSupported: "https webhooks are not supported: use an http:// URL (e.g. a local relay)"
            case .notHTTP(let s): "webhook URL '\(s)' must start with http://"
            case .invalid(let why): "invalid webhook URL: \(why)"
            }
        }
    }

    public init(parsing text: String) throws(ParseError) {
        guard text.utf8.count <= 2048 else { throw .invalid("longer than 2048 bytes") }
        guard text.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
            throw .invalid("spaces, control or non-ASCII characters (percent-encode them)")
        }
        let lower = text.lowercased()
        if lower.hasPrefix("https://") { throw .httpsNotSupported }
        guard lower.hasPrefix("http://") else { throw .notHTTP(text) }
        var rest = Substring(text.dropFirst("http://".count))
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var target = String(rest[authorityEnd...])
        if target.hasPrefix("?") { target = "/" + target }
        if target.isEmpty { target = "/" }
        guard !authority.contains("@") else { throw .invalid("user information is not supported") }
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw .invalid("unclosed IPv6 bracket") }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .invalid("unexpected text after the IPv6 address") }
                portText = after.dropFirst()
            }
        } else {
            let parts = authority.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            host = parts[0]
            if parts.count == 2 { portText = parts[1] }
        }
        guard !host.isEmpty, host.utf8.count <= 253 else { throw .invalid("no host") }
        var port = 80
        if let portText {
            guard let p = Int(portText), (1...65535).contains(p) else { throw .invalid("port must be 1...65535") }
            port = p
        }
        self.host = String(host)
        self.port = port
        self.target = target
    }

    /// The `Host` header value.
    var hostHeader: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == 80 ? name : "\(name):\(port)"
    }

    public var description: String { "http://\(hostHeader)\(target)" }
}
