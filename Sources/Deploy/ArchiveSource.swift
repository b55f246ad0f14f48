import Compression
import Foundation

/// The bytes of an uploaded archive file, decompressed on the fly when it is gzip or zstd (told
/// by magic bytes, not by name), with the decompressed total bounded so a compression bomb stops
/// within one buffer of the limit (413). A zip archive (`PK\3\4`, or `PK\5\6` when empty) is
/// handed out as it is: `ZipReader` inflates its entries one by one.
final class ArchiveSource {
    private let handle: FileHandle
    private var decoder: (any StreamingDecoder)?
    private var pending: [UInt8] = []
    private var pendingStart = 0
    private var inputDone = false
    /// Bytes handed out so far (after decompression).
    private(set) var produced = 0
    let limit: Int
    let format: String

    init(path: String, limit: Int) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw DeployError(400, "the archive cannot be read") }
        self.handle = handle
        self.limit = limit
        let magic = Array((try? handle.read(upToCount: 4)) ?? Data())
        try? handle.seek(toOffset: 0)
        do {
            if magic.starts(with: [0x1f, 0x8b]) {
                decoder = try Codec.gzip().makeDecoder(maxOutputBytes: limit)
                format = "tar.gz"
            } else if magic == [0x28, 0xb5, 0x2f, 0xfd] {
                decoder = try Codec.zstd().makeDecoder(maxOutputBytes: limit)
                format = "tar.zst"
            } else if magic == [0x50, 0x4b, 0x03, 0x04] || magic == [0x50, 0x4b, 0x05, 0x06] {
                format = "zip"
            } else {
                format = "tar"
            }
        } catch {
            throw DeployError(500, "cannot start decompressing: \(error)")
        }
    }

    deinit { try? handle.close() }

    /// Up to `count` bytes; fewer (or none) only at the end of the archive.
    func read(upTo count: Int) throws -> [UInt8] {
        var out: [UInt8] = []
        while out.count < count {
            if pendingStart == pending.count {
                guard try refill() else { break }
                continue
            }
            let take = min(count - out.count, pending.count - pendingStart)
            out += pending[pendingStart..<(pendingStart + take)]
            pendingStart += take
        }
        produced += out.count
        if produced > limit { throw DeployError(413, "the archive unpacks to more than \(limit) bytes") }
        return out
    }

    /// Exactly `count` bytes, or a 400 for an archive that ends early.
    func readExactly(_ count: Int) throws -> [UInt8] {
        let bytes = try read(upTo: count)
        guard bytes.count == count else { throw DeployError(400, "the archive ends in the middle of an entry") }
        return bytes
    }

    private func refill() throws -> Bool {
        pending = []
        pendingStart = 0
        while pending.isEmpty {
            if inputDone { return false }
            let chunk = Array(try handle.read(upToCount: 256 << 10) ?? Data())
            guard let decoder else {
                if chunk.isEmpty {
                    inputDone = true
                    return false
                }
                pending = chunk
                return true
            }
            do {
                if chunk.isEmpty {
                    inputDone = true
                    pending = try decoder.finish()
                } else {
                    pending = try decoder.update(chunk)
                }
            } catch CodecError.outputLimitExceeded {
                throw DeployError(413, "the archive unpacks to more than \(limit) bytes")
            } catch {
                throw DeployError(400, "the \(format) archive is corrupt or truncated (\(error))")
            }
        }
        return true
    }
}
