import Crypto

/// SHA-256 content addresses as 64 lower-case hex characters, computed in one shot or
/// incrementally for files streamed from disk (and for uploads, by the admin listener).
public struct ContentHash {
    private var hasher = SHA256()

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) { hasher.update(bufferPointer: bytes) }

    public consuming func finalizeHex() -> String { Self.hex(hasher.finalize()) }

    public static func of(_ bytes: [UInt8]) -> String { hex(SHA256.hash(data: bytes)) }

    public static func isValidHex(_ s: String) -> Bool {
        s.utf8.count == 64 && s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    private static func hex(_ digest: SHA256.Digest) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
