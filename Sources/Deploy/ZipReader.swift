import Compression

/// Reads a zip archive front to back, the way it arrives: each local file header in order, its
/// data inflated (deflate) or copied (stored), its CRC-32 and sizes checked against the local
/// header or the data descriptor after the data; then, when the central directory arrives, every
/// entry checked again against it (same names, order, offsets, CRC-32, sizes, method, flags; no
/// entry only the directory knows). The central directory is also where the Unix mode lives, so
/// a symbolic link or another special file is refused there: by then its bytes are staged, and the
/// caller removes them with everything else (nothing is published before the whole archive passed).
///
/// Refused: encrypted entries (400), methods other than stored and deflate (415), names that are
/// not UTF-8, stored entries of unknown size (a data descriptor with nothing to find the end by),
/// anything that does not add up (400). Directories are skipped (they follow from the file paths).
/// Zip64 sizes and descriptors are read. Paths are returned as stored, without a leading `./`.
struct ZipReader: ArchiveEntryReader {
    private let source: ArchiveSource
    private var buffer: [UInt8] = []
    private var bufferStart = 0
    /// Archive bytes consumed so far (the offset of the next unread byte).
    private var offset: Int64 = 0

    private struct Local {
        var path: String
        var rawName: [UInt8]
        var flags: UInt16
        var method: UInt16
        var offset: Int64
        var crc: UInt32
        var compressedSize: Int64
        var size: Int64
        var isDirectory: Bool
        /// Sizes in the data descriptor are 8 bytes each when the local header had a Zip64 field.
        var hasZip64: Bool
    }

    /// Entries read so far, in archive order, with what their data turned out to be.
    private var locals: [Local] = []
    /// The entry whose content is being read.
    private var current:
        (
            index: Int, inflater: RawInflater?, compressedLeft: Int64?, crc: UInt32,
            produced: Int64, compressedRead: Int64, done: Bool
        )?
    private var finished = false

    static let localSignature: UInt32 = 0x0403_4b50
    static let centralSignature: UInt32 = 0x0201_4b50
    static let descriptorSignature: UInt32 = 0x0807_4b50
    static let endSignature: UInt32 = 0x0605_4b50
    static let zip64EndSignature: UInt32 = 0x0606_4b50
    static let zip64LocatorSignature: UInt32 = 0x0706_4b50

    init(source: ArchiveSource) { self.source = source }

    mutating func nextEntry() throws -> ArchiveEntry? {
        if finished { return nil }
        try finishCurrent()
        while true {
            let signature = try peekUInt32()
            guard let signature else { throw DeployError(400, "the zip archive ends before its central directory") }
            if signature == Self.centralSignature || signature == Self.endSignature {
                try readCentralDirectory()
                finished = true
                return nil
            }
            guard signature == Self.localSignature else {
                throw DeployError(400, "the zip archive has an unexpected record at byte \(offset)")
            }
            let local = try readLocalHeader()
            locals.append(local)
            if local.isDirectory {
                try startContent(index: locals.count - 1)
                var sink: [UInt8] = []
                repeat { sink = try readContent(upTo: 64 << 10) } while !sink.isEmpty
                guard locals[locals.count - 1].size == 0 else {
                    throw DeployError(400, "zip directory entry \"\(local.path)\" has content")
                }
                try finishCurrent()
                continue
            }
            try startContent(index: locals.count - 1)
            return ArchiveEntry(path: local.path, size: local.flags & 0x08 != 0 ? nil : Int(local.size))
        }
    }

    // MARK: local headers and content

    private mutating func readLocalHeader() throws -> Local {
        let start = offset
        let h = try take(30)
        let flags = le16(h, 6)
        let method = le16(h, 8)
        var crc = le32(h, 14)
        var compressed = Int64(le32(h, 18))
        var size = Int64(le32(h, 22))
        let nameLength = Int(le16(h, 26))
        let extraLength = Int(le16(h, 28))
        let rawName = try take(nameLength)
        let extra = try take(extraLength)
        if flags & 0x01 != 0 || flags & 0x40 != 0 {
            throw DeployError(400, "zip entry \"\(Self.printable(rawName))\" is encrypted")
        }
        guard method == 0 || method == 8 else {
            throw DeployError(
                415, "zip entry \"\(Self.printable(rawName))\" uses compression method \(method); only stored (0) and deflate (8) are accepted")
        }
        guard let name = String(validating: rawName, as: UTF8.self), !rawName.isEmpty else {
            throw DeployError(400, "a zip entry name is empty or not UTF-8")
        }
        if let zip64 = Self.zip64Extra(extra) {
            var i = 0
            if size == 0xFFFF_FFFF {
                guard let v = Self.le64(zip64, i) else { throw DeployError(400, "zip entry \"\(name)\" has a short Zip64 field") }
                size = v
                i += 8
            }
            if compressed == 0xFFFF_FFFF {
                guard let v = Self.le64(zip64, i) else { throw DeployError(400, "zip entry \"\(name)\" has a short Zip64 field") }
                compressed = v
            }
        }
        guard size >= 0, compressed >= 0 else { throw DeployError(400, "zip entry \"\(name)\" has an impossible size") }
        var path = Substring(name)
        while path.hasPrefix("./") { path = path.dropFirst(2) }
        let isDirectory = path.hasSuffix("/")
        if flags & 0x08 != 0 {
            // The real values follow the data. A stored file of unknown length cannot be delimited
            // (a stored directory has none).
            if method == 0 && compressed == 0 && !isDirectory {
                throw DeployError(400, "zip entry \"\(name)\" is stored with a data descriptor: its length is unknown while streaming")
            }
            crc = 0
            compressed = 0
            size = 0
        } else if method == 0 && compressed != size {
            throw DeployError(400, "stored zip entry \"\(name)\" has different compressed and uncompressed sizes")
        }
        return Local(
            path: String(path), rawName: rawName, flags: flags, method: method, offset: start, crc: crc,
            compressedSize: compressed, size: size, isDirectory: isDirectory, hasZip64: Self.zip64Extra(extra) != nil)
    }

    private mutating func startContent(index: Int) throws {
        let local = locals[index]
        let inflater = local.method == 8 ? try RawInflater() : nil
        // Known compressed length: from the local header; with a data descriptor only the deflate
        // stream's own end delimits the data (a stored entry here is a directory: length 0).
        let known = local.flags & 0x08 == 0 || local.method == 0
        current = (index, inflater, known ? local.compressedSize : nil, 0, 0, 0, false)
    }

    /// Up to `max` bytes of the current entry's content; empty at its end (after which its CRC-32
    /// and sizes have been checked).
    mutating func readContent(upTo max: Int) throws -> [UInt8] {
        guard var entry = current, !entry.done else { return [] }
        defer { current = entry }
        let name = locals[entry.index].path
        var out: [UInt8] = []
        if let inflater = entry.inflater {
            out = [UInt8](repeating: 0, count: max)
            var produced = 0
            while produced < max && !inflater.ended {
                if let left = entry.compressedLeft, left == 0 {
                    throw DeployError(400, "zip entry \"\(name)\": the deflate data ends before its stream does")
                }
                if bufferStart == buffer.count {
                    guard try fill() else { throw DeployError(400, "the zip archive ends in the middle of \"\(name)\"") }
                }
                var available = buffer.count - bufferStart
                if let left = entry.compressedLeft { available = Int(min(Int64(available), left)) }
                let step: (consumed: Int, produced: Int, ended: Bool)
                do {
                    step = try buffer.withUnsafeBytes { input in
                        try out.withUnsafeMutableBytes { output in
                            try inflater.inflate(
                                UnsafeRawBufferPointer(rebasing: input[bufferStart..<(bufferStart + available)]),
                                into: UnsafeMutableRawBufferPointer(rebasing: output[produced...]))
                        }
                    }
                } catch {
                    throw DeployError(400, "zip entry \"\(name)\" has corrupt deflate data (\(error))")
                }
                bufferStart += step.consumed
                offset += Int64(step.consumed)
                entry.compressedRead += Int64(step.consumed)
                if let left = entry.compressedLeft { entry.compressedLeft = left - Int64(step.consumed) }
                produced += step.produced
                if step.consumed == 0 && step.produced == 0 && !step.ended {
                    throw DeployError(400, "zip entry \"\(name)\" has deflate data that makes no progress")
                }
            }
            out.removeSubrange(produced...)
        } else {
            let left = entry.compressedLeft ?? 0
            let n = Int(min(Int64(max), left))
            if n > 0 {
                out = try take(n, what: name)
                entry.compressedLeft = left - Int64(n)
                entry.compressedRead += Int64(n)
            }
        }
        out.withUnsafeBytes { entry.crc = CRC32.update(entry.crc, $0) }
        entry.produced += Int64(out.count)
        // The data is complete once the deflate stream ended (all its output is in `out`) or the
        // stored bytes are read: check it before handing out its last bytes.
        if entry.inflater.map(\.ended) ?? (entry.compressedLeft == 0) {
            try endOfContent(&entry)
        }
        return out
    }

    /// Checks the finished entry against its local header or its data descriptor.
    private mutating func endOfContent(
        _ entry:
            inout (
                index: Int, inflater: RawInflater?, compressedLeft: Int64?, crc: UInt32,
                produced: Int64, compressedRead: Int64, done: Bool
            )
    ) throws {
        if entry.done { return }
        entry.done = true
        var local = locals[entry.index]
        if let left = entry.compressedLeft, left != 0 {
            throw DeployError(400, "zip entry \"\(local.path)\": the deflate stream ends before its compressed size")
        }
        if local.flags & 0x08 != 0 {
            // Data descriptor: an optional signature, the CRC-32, then the sizes (8 bytes each when
            // the local header had a Zip64 field, else 4).
            var first = try take(4, what: local.path)
            if le32(first, 0) == Self.descriptorSignature { first = try take(4, what: local.path) }
            local.crc = le32(first, 0)
            if local.hasZip64 {
                let sizes = try take(16, what: local.path)
                local.compressedSize = Self.le64(sizes, 0) ?? -1
                local.size = Self.le64(sizes, 8) ?? -1
            } else {
                let sizes = try take(8, what: local.path)
                local.compressedSize = Int64(le32(sizes, 0))
                local.size = Int64(le32(sizes, 4))
            }
        }
        guard local.crc == entry.crc else {
            throw DeployError(400, "zip entry \"\(local.path)\" fails its CRC-32 check")
        }
        guard local.size == entry.produced, local.compressedSize == entry.compressedRead else {
            throw DeployError(400, "zip entry \"\(local.path)\" is not the size its headers say")
        }
        locals[entry.index] = local
    }

    /// Reads (and checks) whatever the caller left of the current entry.
    private mutating func finishCurrent() throws {
        while current?.done == false { _ = try readContent(upTo: 256 << 10) }
        current = nil
    }

    // MARK: central directory

    private mutating func readCentralDirectory() throws {
        var index = 0
        let centralStart = offset
        while try peekUInt32() == Self.centralSignature {
            let h = try take(46)
            let madeBy = le16(h, 4)
            let flags = le16(h, 8)
            let method = le16(h, 10)
            let crc = le32(h, 16)
            var compressed = Int64(le32(h, 20))
            var size = Int64(le32(h, 24))
            let nameLength = Int(le16(h, 28))
            let extraLength = Int(le16(h, 30))
            let commentLength = Int(le16(h, 32))
            let external = le32(h, 38)
            var localOffset = Int64(le32(h, 42))
            let rawName = try take(nameLength)
            let extra = try take(extraLength)
            _ = try take(commentLength)
            if let zip64 = Self.zip64Extra(extra) {
                var i = 0
                for field in [0, 1, 2] {
                    let value: Int64
                    switch field {
                    case 0: value = size
                    case 1: value = compressed
                    default: value = localOffset
                    }
                    guard value == 0xFFFF_FFFF else { continue }
                    guard let v = Self.le64(zip64, i) else { throw DeployError(400, "a zip central entry has a short Zip64 field") }
                    i += 8
                    switch field {
                    case 0: size = v
                    case 1: compressed = v
                    default: localOffset = v
                    }
                }
            }
            guard index < locals.count else {
                throw DeployError(400, "the zip central directory lists \"\(Self.printable(rawName))\", which the archive does not hold")
            }
            let local = locals[index]
            guard rawName == local.rawName, localOffset == local.offset, method == local.method,
                flags & 0x09 == local.flags & 0x09, crc == local.crc, compressed == local.compressedSize, size == local.size
            else {
                throw DeployError(400, "zip entry \"\(local.path)\" does not match its central directory record")
            }
            // Unix mode (high 16 bits of the external attributes) when made on Unix (host 3).
            if madeBy >> 8 == 3 {
                let type = (external >> 16) & 0o170000
                if type == 0o120000 {
                    throw DeployError(400, "zip entry \"\(local.path)\" is a symbolic link")
                }
                if type != 0 && type != 0o100000 && type != 0o040000 {
                    throw DeployError(400, "zip entry \"\(local.path)\" is not a regular file (mode \(String(type, radix: 8)))")
                }
                if type == 0o040000 && !local.isDirectory {
                    throw DeployError(400, "zip entry \"\(local.path)\" is a directory with a file's name")
                }
            }
            index += 1
        }
        guard index == locals.count else {
            throw DeployError(400, "the zip central directory lists \(index) entries, the archive holds \(locals.count)")
        }
        let centralSize = offset - centralStart
        // Zip64 end record and locator (optional), then the end record.
        if try peekUInt32() == Self.zip64EndSignature {
            let h = try take(12)
            guard let recordSize = Self.le64(h, 4), recordSize >= 44, recordSize < 1 << 20 else {
                throw DeployError(400, "the zip archive has a malformed Zip64 end record")
            }
            _ = try take(Int(recordSize))
        }
        if try peekUInt32() == Self.zip64LocatorSignature { _ = try take(20) }
        guard try peekUInt32() == Self.endSignature else {
            throw DeployError(400, "the zip archive has no end of central directory record")
        }
        let end = try take(22)
        let total = Int(le16(end, 10))
        let directorySize = Int64(le32(end, 12))
        let directoryOffset = Int64(le32(end, 16))
        let commentLength = Int(le16(end, 20))
        guard total == 0xFFFF || total == locals.count % 0x10000,
            directorySize == 0xFFFF_FFFF || directorySize == centralSize,
            directoryOffset == 0xFFFF_FFFF || directoryOffset == centralStart
        else {
            throw DeployError(400, "the zip archive's end record does not match its central directory")
        }
        _ = try take(commentLength)
        let more = try bufferStart < buffer.count || fill()
        if more {
            throw DeployError(400, "the zip archive has bytes after its end record")
        }
    }

    // MARK: bytes

    /// Reads more of the archive into the buffer; false at its end.
    private mutating func fill() throws -> Bool {
        if bufferStart == buffer.count {
            buffer = []
            bufferStart = 0
        }
        let more = try source.read(upTo: 256 << 10)
        if more.isEmpty { return false }
        if bufferStart > 0 {
            buffer.removeSubrange(0..<bufferStart)
            bufferStart = 0
        }
        buffer += more
        return true
    }

    private mutating func take(_ n: Int, what: String? = nil) throws -> [UInt8] {
        while buffer.count - bufferStart < n {
            guard try fill() else {
                throw DeployError(400, "the zip archive ends in the middle of " + (what.map { "\"\($0)\"" } ?? "a header"))
            }
        }
        let out = Array(buffer[bufferStart..<(bufferStart + n)])
        bufferStart += n
        offset += Int64(n)
        return out
    }

    /// The next 4 bytes as a little-endian signature without consuming them; nil at the end.
    private mutating func peekUInt32() throws -> UInt32? {
        while buffer.count - bufferStart < 4 {
            guard try fill() else { return nil }
        }
        return le32(buffer, bufferStart)
    }

    private func le16(_ b: [UInt8], _ i: Int) -> UInt16 { UInt16(b[i]) | UInt16(b[i + 1]) << 8 }
    private func le32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
    }
    private static func le64(_ b: [UInt8], _ i: Int) -> Int64? {
        guard i + 8 <= b.count else { return nil }
        var v: UInt64 = 0
        for k in (0..<8).reversed() { v = v << 8 | UInt64(b[i + k]) }
        return v > UInt64(Int64.max) ? nil : Int64(v)
    }

    /// The data of the Zip64 extended information extra field (id 1), if present.
    private static func zip64Extra(_ extra: [UInt8]) -> [UInt8]? {
        var i = 0
        while i + 4 <= extra.count {
            let id = UInt16(extra[i]) | UInt16(extra[i + 1]) << 8
            let length = Int(UInt16(extra[i + 2]) | UInt16(extra[i + 3]) << 8)
            guard i + 4 + length <= extra.count else { return nil }
            if id == 1 { return Array(extra[(i + 4)..<(i + 4 + length)]) }
            i += 4 + length
        }
        return nil
    }

    private static func printable(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.prefix(200).map { $0 < 0x20 || $0 == 0x7F ? UInt8(ascii: "?") : $0 }, as: UTF8.self)
    }
}
