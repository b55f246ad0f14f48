import Glibc

/// A client's IP address as 128 bits (IPv4 as its IPv4-mapped IPv6 form, `::ffff:a.b.c.d`), so
/// one value type, one hash and one prefix test serve both families. Parsed with `inet_pton`:
/// numeric forms only, never DNS.
public struct ClientAddress: Hashable, Sendable, CustomStringConvertible {
    /// The first and last 64 bits, most significant first.
    public let high: UInt64
    public let low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// `192.0.2.1`, `2001:db8::1`, `[2001:db8::1]`, `::ffff:192.0.2.1`; nil for anything else.
    public init?(_ text: some StringProtocol) {
        var s = String(text)
        if s.hasPrefix("["), s.hasSuffix("]") { s = String(s.dropFirst().dropLast()) }
        guard !s.isEmpty, s.utf8.count <= 45 else { return nil }
        if s.contains(":") {
            var raw = in6_addr()
            guard inet_pton(AF_INET6, s, &raw) == 1 else { return nil }
            let bytes = withUnsafeBytes(of: &raw) { Array($0) }
            self.init(bytes16: bytes)
        } else {
            var raw = in_addr()
            guard inet_pton(AF_INET, s, &raw) == 1 else { return nil }
            self.init(ipv4: UInt32(bigEndian: raw.s_addr))
        }
    }

    /// An IPv4 address (host order) as `::ffff:a.b.c.d`.
    public init(ipv4: UInt32) {
        self.init(high: 0, low: 0xFFFF_0000_0000 | UInt64(ipv4))
    }

    private init(bytes16 b: [UInt8]) {
        var h: UInt64 = 0
        var l: UInt64 = 0
        for i in 0..<8 { h = h << 8 | UInt64(b[i]) }
        for i in 8..<16 { l = l << 8 | UInt64(b[i]) }
        self.init(high: h, low: l)
    }

    /// Whether this is an IPv4 address (IPv4-mapped).
    public var isIPv4: Bool { high == 0 && low >> 32 == 0xFFFF }

    public var description: String {
        if isIPv4 {
            let v = UInt32(truncatingIfNeeded: low)
            return "\(v >> 24).\(v >> 16 & 0xFF).\(v >> 8 & 0xFF).\(v & 0xFF)"
        }
        var raw = in6_addr()
        withUnsafeMutableBytes(of: &raw) { p in
            for i in 0..<8 { p[i] = UInt8(truncatingIfNeeded: high >> UInt64(56 - 8 * i)) }
            for i in 0..<8 { p[8 + i] = UInt8(truncatingIfNeeded: low >> UInt64(56 - 8 * i)) }
        }
        var out = [CChar](repeating: 0, count: 64)
        guard inet_ntop(AF_INET6, &raw, &out, socklen_t(out.count)) != nil else { return "?" }
        return String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A 64-bit hash mixed with `seed` (a per-process random value, so a client cannot choose
    /// addresses that collide in the tables).
    func hash(seed: UInt64, salt: UInt64) -> UInt64 {
        var x = seed ^ salt &* 0x9E37_79B9_7F4A_7C15
        x = ClientAddress.mix(x ^ high)
        x = ClientAddress.mix(x ^ low)
        return x
    }

    /// SplitMix64's finaliser.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// An address or a CIDR range (`10.0.0.0/8`, `2001:db8::/32`, `127.0.0.1`).
public struct AddressRange: Hashable, Sendable, CustomStringConvertible {
    public let base: ClientAddress
    /// Prefix length in the 128-bit space (an IPv4 /n is 96 + n).
    public let prefixLength: Int
    public let description: String

    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = ClientAddress(parts[0]) else { return nil }
        var length = 128
        if parts.count == 2 {
            guard let n = Int(parts[1]), n >= 0 else { return nil }
            let limit = address.isIPv4 ? 32 : 128
            guard n <= limit else { return nil }
            length = address.isIPv4 ? 96 + n : n
        }
        self.prefixLength = length
        self.base = AddressRange.masked(address, length)
        self.description = text
    }

    public func contains(_ address: ClientAddress) -> Bool {
        AddressRange.masked(address, prefixLength) == base
    }

    private static func masked(_ a: ClientAddress, _ length: Int) -> ClientAddress {
        func mask(_ bits: Int) -> UInt64 { bits <= 0 ? 0 : bits >= 64 ? ~0 : ~0 << UInt64(64 - bits) }
        return ClientAddress(high: a.high & mask(length), low: a.low & mask(length - 64))
    }
}

extension Array where Element == AddressRange {
    /// Whether any range holds `address`.
    func containsAddress(_ address: ClientAddress) -> Bool {
        contains { $0.contains(address) }
    }
}
