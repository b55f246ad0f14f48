import GRDB

extension Store {
    /// Which of `hashes` the store holds as blobs (for the upload API's "missing" answer).
    public func existingBlobs(_ hashes: [String]) throws -> Set<String> {
        guard !hashes.isEmpty else { return [] }
        return try pool.read { db in
            var found: Set<String> = []
            for start in stride(from: 0, to: hashes.count, by: 500) {
                let slice = Array(hashes[start..<min(start + 500, hashes.count)])
                let placeholders = Array(repeating: "?", count: slice.count).joined(separator: ",")
                found.formUnion(
                    try String.fetchAll(
                        db, sql: "SELECT hash FROM blobs WHERE hash IN (\(placeholders))",
                        arguments: StatementArguments(slice)))
            }
            return found
        }
    }
}
