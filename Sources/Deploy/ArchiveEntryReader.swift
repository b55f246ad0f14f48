/// One regular file of an uploaded archive: its path as stored (without a leading `./`) and its
/// size when the archive says it up front (tar always; zip unless the entry has a data descriptor).
struct ArchiveEntry {
    var path: String
    var size: Int?
}

/// Reads an uploaded archive entry by entry while it streams: `TarReader` for tar (plain, gzip
/// or zstd), `ZipReader` for zip. Read an entry's bytes with `readContent` (empty at its end)
/// before asking for the next one; whatever is left is skipped (and, for zip, still checked).
protocol ArchiveEntryReader {
    mutating func nextEntry() throws -> ArchiveEntry?
    mutating func readContent(upTo max: Int) throws -> [UInt8]
}

extension TarReader: ArchiveEntryReader {
    mutating func nextEntry() throws -> ArchiveEntry? {
        try next().map { ArchiveEntry(path: $0.path, size: $0.size) }
    }
}
