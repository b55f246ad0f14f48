import GRDB

/// RFC 9842 deltas: an encoding of one blob (`source_hash`) made against another blob used as a
/// dictionary (`dictionary_hash`, the SHA-256 a browser sends in `Available-Dictionary`), itself
/// stored as a blob. A delta is useful only while both sides are in a retained deployment; `gc`
/// removes the rest.
enum DeltaMigration {
    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v3-dictionary-deltas") { db in
            try db.execute(
                sql: """
                    CREATE TABLE deltas (
                        source_hash TEXT NOT NULL REFERENCES blobs(hash),
                        dictionary_hash TEXT NOT NULL REFERENCES blobs(hash),
                        coding TEXT NOT NULL CHECK (coding IN ('dcz')),
                        blob_hash TEXT NOT NULL REFERENCES blobs(hash),
                        PRIMARY KEY (source_hash, dictionary_hash, coding),
                        CHECK (source_hash <> dictionary_hash),
                        CHECK (blob_hash <> source_hash AND blob_hash <> dictionary_hash)
                    ) WITHOUT ROWID;
                    CREATE INDEX deltas_by_blob ON deltas(blob_hash);
                    CREATE INDEX deltas_by_dictionary ON deltas(dictionary_hash);
                    """)
        }
    }
}
