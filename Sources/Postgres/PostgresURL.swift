import Foundation

/// A `postgres://user[:password]@host[:port]/database[?…]` connection URL, checked before any
/// connection is tried so a typo is a clear configuration error. `redacted` is the form for logs and
/// error messages: the password never appears in it.
public struct PostgresURL: Sendable, Equatable, CustomStringConvertible {
    /// The URL as given (with its password): only ever handed to libpq.
    let connectionString: String
    /// The URL with any password replaced by `***`.
    public let redacted: String
    public let host: String
    public let port: Int?
    public let database: String

    /// Nil for anything that is not a `postgres:` or `postgresql:` URL naming a host and a database,
    /// with an optional port in 1...65535.
    public init?(_ string: String) {
        guard string.utf8.count <= 2048, !string.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f }),
            let components = URLComponents(string: string),
            let scheme = components.scheme?.lowercased(), scheme == "postgres" || scheme == "postgresql",
            let host = components.host, !host.isEmpty
        else { return nil }
        if let port = components.port, !(1...65_535).contains(port) { return nil }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else { return nil }
        self.connectionString = string
        self.host = host
        self.port = components.port
        self.database = database
        var shown = components
        if shown.password != nil { shown.password = "***" }
        self.redacted = shown.string ?? "postgres://\(host)/\(database)"
    }

    /// True when `string` looks like it means PostgreSQL (so a malformed one is reported as such,
    /// not taken for a SQLite path).
    static func looksLikePostgres(_ string: String) -> Bool {
        let lower = string.lowercased()
        return lower.hasPrefix("postgres:") || lower.hasPrefix("postgresql:")
    }

    public var description: String { redacted }
}
