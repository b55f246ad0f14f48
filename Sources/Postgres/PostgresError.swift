import Foundation

/// A failure talking to PostgreSQL: a connection that could not be made or was lost, or a statement
/// the server refused (with its five-character SQLSTATE, e.g. `23514` for a CHECK violation).
public struct PostgresError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Could not connect (bad URL, server down, authentication refused).
        case connection
        /// The server refused a statement.
        case statement
        /// The connection broke while a statement ran.
        case connectionLost
    }

    public var kind: Kind
    /// The server's SQLSTATE code, when it sent one.
    public var sqlState: String?
    /// libpq's message (never contains the password: libpq does not echo it).
    public var message: String

    public init(kind: Kind, sqlState: String? = nil, message: String) {
        self.kind = kind
        self.sqlState = sqlState
        self.message = message
    }

    public var description: String {
        let code = sqlState.map { " [\($0)]" } ?? ""
        return "PostgreSQL \(kind)\(code): \(message.trimmingCharacters(in: .whitespacesAndNewlines))"
    }

    /// True for violations of a CHECK, NOT NULL, UNIQUE or foreign-key constraint (class 23).
    public var isConstraintViolation: Bool { sqlState?.hasPrefix("23") ?? false }
}
