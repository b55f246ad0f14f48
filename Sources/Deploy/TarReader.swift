/// Reads a tar stream (POSIX ustar and pax, GNU long names) entry by entry, refusing everything
/// an upload must not contain: symbolic and hard links, devices, FIFOs, sparse and other special
/// entries, bad header checksums, names that are not UTF-8. Directories are skipped (they follow
/// from the file paths). Paths are returned as stored, without a leading `./`; the caller checks
/// them like manifest paths.
struct TarReader {
    /// One regular file: its path and size; read its bytes with `readContent` before `next()`.
    struct Entry {
        var path: String
        var size: Int
    }

    private let source: ArchiveSource
    /// Content bytes of the current entry not yet read, and the padding after them.
    private var remaining = 0
    private var padding = 0

    init(source: ArchiveSource) { self.source = source }

    /// The next regular file, or nil at the end of the archive.
    mutating func next() throws -> Entry? {
        try skipRest()
        var paxPath: String?
        var paxSize: Int?
        var longName: String?
        while true {
            let block = try source.read(upTo: 512)
            if block.isEmpty { return nil }  // no end-of-archive blocks: tolerated, like GNU tar
            guard block.count == 512 else { throw DeployError(400, "the archive ends in the middle of a header") }
            if block.allSatisfy({ $0 == 0 }) { return nil }
            try TarReader.checkChecksum(block)
            let type = block[156]
            var size = try TarReader.number(block[124..<136])
            var name = try TarReader.name(block)
            if let longName { name = longName }
            if let paxPath { name = paxPath }
            if let paxSize { size = paxSize }
            switch type {
            case UInt8(ascii: "0"), 0, UInt8(ascii: "7"):
                let path = TarReader.strip(name)
                if path.isEmpty || path.hasSuffix("/") {
                    throw DeployError(400, "archive entry \"\(name)\" is a file with a directory's name")
                }
                setContent(size)
                return Entry(path: path, size: size)
            case UInt8(ascii: "5"):
                setContent(size)
                try skipRest()
                (paxPath, paxSize, longName) = (nil, nil, nil)
            case UInt8(ascii: "x"), UInt8(ascii: "g"):
                guard size <= 1 << 20 else { throw DeployError(400, "a pax header of \(size) bytes is too large") }
                setContent(size)
                let records = try readContent(upTo: size)
                try skipRest()
                if type == UInt8(ascii: "x") {
                    let fields = try TarReader.pax(records)
                    if let p = fields["path"] { paxPath = p }
                    if let s = fields["size"] {
                        guard let n = Int(s), n >= 0 else { throw DeployError(400, "a pax size \"\(s)\" is not a number") }
                        paxSize = n
                    }
                }
            case UInt8(ascii: "L"):
                guard size <= 4096 else { throw DeployError(400, "a GNU long name of \(size) bytes is too long") }
                setContent(size)
                let bytes = try readContent(upTo: size)
                try skipRest()
                guard let text = String(validating: bytes.prefix { $0 != 0 }, as: UTF8.self) else {
                    throw DeployError(400, "an archive name is not UTF-8")
                }
                longName = text
            case UInt8(ascii: "1"): throw DeployError(400, "archive entry \"\(name)\" is a hard link (not allowed)")
            case UInt8(ascii: "2"): throw DeployError(400, "archive entry \"\(name)\" is a symbolic link (not allowed)")
            case UInt8(ascii: "3"), UInt8(ascii: "4"): throw DeployError(400, "archive entry \"\(name)\" is a device (not allowed)")
            case UInt8(ascii: "6"): throw DeployError(400, "archive entry \"\(name)\" is a FIFO (not allowed)")
            default:
                throw DeployError(
                    400, "archive entry \"\(name)\" has type '\(Character(Unicode.Scalar(type)))' (only files and directories are allowed)")
            }
        }
    }

    /// Up to `max` bytes of the current entry's content (empty when it is all read).
    mutating func readContent(upTo max: Int) throws -> [UInt8] {
        let take = min(max, remaining)
        guard take > 0 else { return [] }
        let bytes = try source.readExactly(take)
        remaining -= take
        return bytes
    }

    private mutating func setContent(_ size: Int) {
        remaining = size
        padding = (512 - size % 512) % 512
    }

    private mutating func skipRest() throws {
        while remaining > 0 { _ = try readContent(upTo: 64 << 10) }
        if padding > 0 {
            _ = try source.readExactly(padding)
            padding = 0
        }
    }

    private static func strip(_ name: String) -> String {
        var path = Substring(name)
        while path.hasPrefix("./") { path = path.dropFirst(2) }
        return String(path)
    }

    private static func name(_ block: [UInt8]) throws -> String {
        func field(_ range: Range<Int>) -> ArraySlice<UInt8> { block[range].prefix { $0 != 0 } }
        var bytes = Array(field(0..<100))
        if block[257..<262].elementsEqual(Array("ustar".utf8)) {
            let prefix = field(345..<500)
            if !prefix.isEmpty { bytes = Array(prefix) + [UInt8(ascii: "/")] + bytes }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw DeployError(400, "an archive name is not UTF-8") }
        return text
    }

    /// An octal field, or base-256 when its first byte has the high bit set (GNU, large sizes).
    static func number(_ field: ArraySlice<UInt8>) throws -> Int {
        if let first = field.first, first & 0x80 != 0 {
            var value = 0
            for (i, byte) in field.enumerated() {
                let b = i == 0 ? byte & 0x7f : byte
                guard value < Int.max >> 8 else { throw DeployError(400, "an archive size is too large") }
                value = value << 8 | Int(b)
            }
            return value
        }
        var value = 0
        var seen = false
        for byte in field {
            if byte == 0 || byte == 0x20 { if seen { break } else { continue } }
            guard byte >= 0x30 && byte <= 0x37 else { throw DeployError(400, "an archive header has a malformed number") }
            seen = true
            guard value < Int.max >> 3 else { throw DeployError(400, "an archive size is too large") }
            value = value << 3 | Int(byte - 0x30)
        }
        return value
    }

    private static func checkChecksum(_ block: [UInt8]) throws {
        let stored = try number(block[148..<156])
        var sum = 0
        for (i, byte) in block.enumerated() { sum += (148..<156).contains(i) ? 0x20 : Int(byte) }
        guard sum == stored else { throw DeployError(400, "an archive header's checksum is wrong (not a tar archive?)") }
    }

    /// pax records `"<length> <key>=<value>\n"`.
    private static func pax(_ bytes: [UInt8]) throws -> [String: String] {
        var fields: [String: String] = [:]
        var index = 0
        while index < bytes.count {
            guard let space = bytes[index...].firstIndex(of: 0x20),
                let length = Int(String(decoding: bytes[index..<space], as: UTF8.self)), length > 0,
                index + length <= bytes.count, bytes[index + length - 1] == 0x0A
            else {
                throw DeployError(400, "a pax header is malformed")
            }
            let record = bytes[(space + 1)..<(index + length - 1)]
            guard let eq = record.firstIndex(of: UInt8(ascii: "=")),
                let key = String(validating: record[record.startIndex..<eq], as: UTF8.self),
                let value = String(validating: record[(eq + 1)...], as: UTF8.self)
            else {
                throw DeployError(400, "a pax record is malformed or not UTF-8")
            }
            fields[key] = value
            index += length
        }
        return fields
    }
}
