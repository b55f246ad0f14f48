import CLibPQ
import Foundation

/// One synchronous libpq connection. Every statement is sent with `PQexecParams`: parameters travel
/// in text format apart from the SQL, so they are never parsed as SQL. Calls are serialised by a
/// lock (one statement at a time per connection); `transaction` holds it from `BEGIN` to `COMMIT`.
/// A connection found broken before a statement is reset once (a restarted server is picked up).
public final class PostgresConnection: @unchecked Sendable {
    // @unchecked: `handle` is only touched under `lock`.
    private let lock = NSRecursiveLock()
    private var handle: OpaquePointer?
    /// Nesting depth of `transaction` (only under `lock`): a connection lost inside one is an error,
    /// never silently reset, or the rest of the transaction would run outside it.
    private var transactionDepth = 0
    public let url: PostgresURL

    /// Connects to `url`, waiting at most `connectTimeout` seconds.
    public init(url: PostgresURL, connectTimeout: Int = 5, applicationName: String = "wharf") throws {
        self.url = url
        let keywords = ["dbname", "connect_timeout", "application_name"]
        let values = [url.connectionString, String(max(1, connectTimeout)), applicationName]
        let handle = withCStrings(keywords) { k in withCStrings(values) { v in PQconnectdbParams(k, v, 1) } }
        guard let handle, PQstatus(handle) == CONNECTION_OK else {
            let message = handle.map { String(cString: PQerrorMessage($0)) } ?? "out of memory"
            PQfinish(handle)
            throw PostgresError(kind: .connection, message: "\(url.redacted): \(message)")
        }
        self.handle = handle
        // Quiet notices (e.g. "relation already exists, skipping") instead of libpq printing them to stderr.
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
    }

    deinit { PQfinish(handle) }

    /// Runs one statement with `parameters` as `$1`, `$2`, …; returns its rows (none for commands).
    @discardableResult
    public func query(_ sql: String, _ parameters: [any PostgresParameter] = []) throws -> [PostgresRow] {
        lock.lock()
        defer { lock.unlock() }
        let handle = try liveHandle()
        let texts = parameters.map(\.postgresText)
        // PostgreSQL text cannot hold NUL; refuse rather than let the C string end early.
        if texts.contains(where: { $0?.utf8.contains(0) == true }) {
            throw PostgresError(kind: .statement, sqlState: "22021", message: "a parameter contains a NUL byte")
        }
        let result = withOptionalCStrings(texts) { values in
            PQexecParams(handle, sql, Int32(texts.count), nil, values, nil, nil, 0)
        }
        defer { PQclear(result) }
        return try rows(of: result, handle: handle)
    }

    /// Runs several `;`-separated statements with no parameters (schema migrations).
    public func execute(script sql: String) throws {
        lock.lock()
        defer { lock.unlock() }
        let handle = try liveHandle()
        let result = PQexec(handle, sql)
        defer { PQclear(result) }
        _ = try rows(of: result, handle: handle)
    }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws. Other
    /// threads wait for this connection until it ends.
    public func transaction<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        try query("BEGIN")
        transactionDepth += 1
        do {
            let value = try body(self)
            transactionDepth -= 1
            try query("COMMIT")
            return value
        } catch {
            transactionDepth -= 1
            _ = try? query("ROLLBACK")
            throw error
        }
    }

    /// Runs `body` with the raw handle under the lock (the listener's socket wait).
    func withHandle<T>(_ body: (OpaquePointer?) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(handle)
    }

    private func liveHandle() throws -> OpaquePointer {
        guard let handle else { throw PostgresError(kind: .connectionLost, message: "connection closed") }
        if PQstatus(handle) != CONNECTION_OK {
            guard transactionDepth == 0 else {
                throw PostgresError(kind: .connectionLost, message: "\(url.redacted): connection lost inside a transaction")
            }
            PQreset(handle)
            guard PQstatus(handle) == CONNECTION_OK else {
                throw PostgresError(kind: .connectionLost, message: "\(url.redacted): " + String(cString: PQerrorMessage(handle)))
            }
        }
        return handle
    }

    private func rows(of result: OpaquePointer?, handle: OpaquePointer) throws -> [PostgresRow] {
        guard let result else {
            throw PostgresError(kind: .connectionLost, message: String(cString: PQerrorMessage(handle)))
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return []
        case PGRES_TUPLES_OK:
            let fields = PQnfields(result)
            let columns = (0..<fields).map { String(cString: PQfname(result, $0)) }
            let types = (0..<fields).map { PQftype(result, $0) }
            return (0..<PQntuples(result)).map { r in
                PostgresRow(
                    columns: columns,
                    values: (0..<fields).map { f in
                        PQgetisnull(result, r, f) == 1
                            ? .null
                            : PostgresValue(text: String(cString: PQgetvalue(result, r, f)), oid: types[Int(f)])
                    })
            }
        default:
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            let message = String(cString: PQresultErrorMessage(result))
            let lost = PQstatus(handle) != CONNECTION_OK
            throw PostgresError(kind: lost ? .connectionLost : .statement, sqlState: state, message: message)
        }
    }
}

/// Calls `body` with a C array of C strings (valid only during the call).
func withCStrings<T>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> T) -> T {
    withOptionalCStrings(strings + [nil] as [String?]) { body($0) }
}

/// As `withCStrings`, nil entries becoming NULL pointers (SQL NULL parameters).
func withOptionalCStrings<T>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> T) -> T {
    let copies: [UnsafeMutablePointer<CChar>?] = strings.map { $0.map { strdup($0)! } }
    defer { for copy in copies { free(copy) } }
    let pointers = copies.map { UnsafePointer($0) }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
}
