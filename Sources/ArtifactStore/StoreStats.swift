import GRDB

/// Sizes and counts for `wharf store stats`.
public struct StoreStats: Sendable, Equatable {
    public struct CodingSavings: Sendable, Equatable {
        public var coding: String
        public var count: Int
        /// Identity bytes of the blobs that have this variant, and the variants' bytes.
        public var originalBytes: Int64
        public var encodedBytes: Int64
        public var savedFraction: Double { originalBytes == 0 ? 0 : 1 - Double(encodedBytes) / Double(originalBytes) }
    }
    public var apps = 0
    public var deployments = 0
    /// All blobs (identity and variants) by placement.
    public var inlineBlobs = 0
    public var inlineBytes: Int64 = 0
    public var fileBlobs = 0
    public var fileBytes: Int64 = 0
    public var variants: [CodingSavings] = []
    /// RFC 9842 `dcz` deltas: how many, their bytes, and the bytes of the smallest br/zstd
    /// variant (or identity) of the same files, which a browser without the dictionary gets.
    public var deltas = 0
    public var deltaBytes: Int64 = 0
    public var deltaBaselineBytes: Int64 = 0
    /// Bytes one transfer of every delta saves against its baseline.
    public var deltaBytesSaved: Int64 { deltaBaselineBytes - deltaBytes }
}

extension Store {
    public func stats() throws -> StoreStats {
        try pool.read { db in
            var stats = StoreStats()
            stats.apps = try Int.fetchOne(db, sql: "SELECT count(*) FROM apps") ?? 0
            stats.deployments = try Int.fetchOne(db, sql: "SELECT count(*) FROM deployments") ?? 0
            if let row = try Row.fetchOne(db, sql: "SELECT count(*), coalesce(sum(size), 0) FROM blobs WHERE data IS NOT NULL") {
                stats.inlineBlobs = row[0]
                stats.inlineBytes = row[1]
            }
            if let row = try Row.fetchOne(db, sql: "SELECT count(*), coalesce(sum(size), 0) FROM blobs WHERE data IS NULL") {
                stats.fileBlobs = row[0]
                stats.fileBytes = row[1]
            }
            stats.variants = try Row.fetchAll(
                db,
                sql: """
                    SELECT v.coding, count(*), sum(s.size), sum(b.size) FROM variants v
                    JOIN blobs b ON b.hash = v.blob_hash JOIN blobs s ON s.hash = v.source_hash
                    GROUP BY v.coding
                    """
            ).map { StoreStats.CodingSavings(coding: $0[0], count: $0[1], originalBytes: $0[2], encodedBytes: $0[3]) }
                .sorted { VariantCoding.rank($0.coding) < VariantCoding.rank($1.coding) }
            if let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT count(*), coalesce(sum(b.size), 0),
                           coalesce(sum(coalesce((SELECT min(vb.size) FROM variants v JOIN blobs vb ON vb.hash = v.blob_hash
                                                  WHERE v.source_hash = d.source_hash AND v.coding IN ('br', 'zstd')), s.size)), 0)
                    FROM deltas d JOIN blobs b ON b.hash = d.blob_hash JOIN blobs s ON s.hash = d.source_hash
                    """)
            {
                stats.deltas = row[0]
                stats.deltaBytes = row[1]
                stats.deltaBaselineBytes = row[2]
            }
            return stats
        }
    }
}
