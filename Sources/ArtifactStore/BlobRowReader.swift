import GRDB
import GRDBSQLite
import Synchronization

/// Reads one row of the `blobs` table for the edge's cache-miss path through SQLite's C API
/// (as GRDB exports it): a few read-only connections, each with its one statement prepared once,
/// lent out from a free list for the length of one read. A miss then costs a bind, one step and
/// one copy of the inline bytes, without a trip through GRDB's reader pool (a dispatch queue per
/// read), its row objects, or a `Data` in between.
///
/// Consistency is SQLite's: the store is in WAL mode, so each step reads the last committed
/// snapshot, and the statement is reset right after (a held read would stop checkpoints).
/// Blobs never change once written; gc may delete a row, which then reads as absent.
final class BlobRowReader: Sendable {
    /// What the row says about a blob.
    enum Found: Equatable {
        /// Inline in the database: its bytes.
        case inline([UInt8])
        /// Recorded with no inline data: the bytes are in its blob file, `size` long.
        case file(size: Int64)
        /// No such row.
        case absent
    }

    /// One read-only connection and its prepared statement; used by one thread at a time.
    private struct Reader: @unchecked Sendable {
        let connection: OpaquePointer
        let statement: OpaquePointer
    }

    private let databasePath: String
    private let busyTimeoutMilliseconds: Int32
    private let idle = Mutex<[Reader]>([])
    /// Connections kept between reads (the libuv pool has 4 threads; more concurrent readers
    /// open a connection for the read and close it after).
    private static let maxIdle = 8
    private static let query = "SELECT size, data FROM blobs WHERE hash = ?"

    init(databasePath: String, busyTimeoutSeconds: Double) {
        self.databasePath = databasePath
        self.busyTimeoutMilliseconds = Int32(clamping: Int(busyTimeoutSeconds * 1000))
    }

    deinit {
        for reader in idle.withLock({ $0 }) { Self.close(reader) }
    }

    /// The row of `hash` (64 lower-case hex characters; bound as text, never spliced into SQL).
    func read(hash: String) throws -> Found {
        let reader = try take()
        do {
            let found = try read(hash: hash, with: reader)
            give(reader)
            return found
        } catch {
            Self.close(reader)
            throw error
        }
    }

    private func read(hash: String, with reader: Reader) throws -> Found {
        let statement = reader.statement
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        var hash = hash
        return try hash.withUTF8 { text -> Found in
            // SQLITE_STATIC (nil destructor): the text outlives the step, which happens in here.
            guard
                sqlite3_bind_text(
                    statement, 1, UnsafeRawPointer(text.baseAddress!).assumingMemoryBound(to: CChar.self),
                    Int32(text.count), nil) == SQLITE_OK
            else { throw failure(reader, "binding the hash") }
            switch sqlite3_step(statement) {
            case SQLITE_DONE:
                return .absent
            case SQLITE_ROW:
                let size = sqlite3_column_int64(statement, 0)
                if sqlite3_column_type(statement, 1) == SQLITE_NULL { return .file(size: size) }
                // Pointer first, then length (SQLite's documented order); a zero-length blob has a nil pointer.
                let source = sqlite3_column_blob(statement, 1)
                let count = Int(sqlite3_column_bytes(statement, 1))
                let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
                    if count > 0, let source { buffer.baseAddress!.initialize(from: source.assumingMemoryBound(to: UInt8.self), count: count) }
                    initialized = count
                }
                return .inline(bytes)
            default:
                throw failure(reader, "reading the blob row")
            }
        }
    }

    private func take() throws -> Reader {
        if let reader = idle.withLock({ $0.popLast() }) { return reader }
        return try open()
    }

    private func give(_ reader: Reader) {
        let kept = idle.withLock { list -> Bool in
            guard list.count < Self.maxIdle else { return false }
            list.append(reader)
            return true
        }
        if !kept { Self.close(reader) }
    }

    private func open() throws -> Reader {
        var connection: OpaquePointer?
        let flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX
        guard sqlite3_open_v2(databasePath, &connection, flags, nil) == SQLITE_OK, let connection else {
            let message = connection.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(connection)
            throw StoreError.io(path: databasePath, reason: "cannot open a read-only connection (\(message))")
        }
        sqlite3_busy_timeout(connection, busyTimeoutMilliseconds)
        var statement: OpaquePointer?
        guard sqlite3_prepare_v3(connection, Self.query, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil) == SQLITE_OK,
            let statement
        else {
            let message = String(cString: sqlite3_errmsg(connection))
            sqlite3_close_v2(connection)
            throw StoreError.io(path: databasePath, reason: "cannot prepare the blob read (\(message))")
        }
        return Reader(connection: connection, statement: statement)
    }

    private func failure(_ reader: Reader, _ doing: String) -> StoreError {
        StoreError.io(path: databasePath, reason: "\(doing): \(String(cString: sqlite3_errmsg(reader.connection)))")
    }

    private static func close(_ reader: Reader) {
        sqlite3_finalize(reader.statement)
        sqlite3_close_v2(reader.connection)
    }
}
