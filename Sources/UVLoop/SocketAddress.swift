internal import CLibUV

#if canImport(Glibc)
    import Glibc
#endif

/// A numeric IPv4 or IPv6 address with a port, e.g. `127.0.0.1:8080` or `[::1]:8080`.
public struct SocketAddress: Hashable, Sendable, CustomStringConvertible {
    /// Numeric host, without brackets for IPv6.
    public let host: String
    public let port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var isIPv6: Bool { host.contains(":") }

    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

extension SocketAddress {
    /// Builds a `sockaddr` for a numeric host (`localhost` is taken as 127.0.0.1); no DNS.
    static func socketAddressStorage(host: String, port: Int) throws(UVError) -> sockaddr_storage {
        guard (0...65535).contains(port) else { throw .einval }
        let numericHost = host == "localhost" ? "127.0.0.1" : host
        var storage = sockaddr_storage()
        let status = withUnsafeMutablePointer(to: &storage) { pointer -> Int32 in
            let raw = UnsafeMutableRawPointer(pointer)
            if numericHost.contains(":") {
                return uv_ip6_addr(numericHost, Int32(port), raw.assumingMemoryBound(to: sockaddr_in6.self))
            }
            return uv_ip4_addr(numericHost, Int32(port), raw.assumingMemoryBound(to: sockaddr_in.self))
        }
        try UV.check(status)
        return storage
    }

    /// Reads a `sockaddr_in`/`sockaddr_in6`; nil for other families.
    init?(storage: sockaddr_storage) {
        var storage = storage
        let parsed: SocketAddress? = withUnsafePointer(to: &storage) { pointer in
            let raw = UnsafeRawPointer(pointer)
            var name = [CChar](repeating: 0, count: 64)
            switch Int32(pointer.pointee.ss_family) {
            case AF_INET:
                let address = raw.assumingMemoryBound(to: sockaddr_in.self)
                guard uv_ip4_name(address, &name, name.count) == 0 else { return nil }
                return SocketAddress(host: Self.string(fromNullTerminated: name), port: Int(UInt16(bigEndian: address.pointee.sin_port)))
            case AF_INET6:
                let address = raw.assumingMemoryBound(to: sockaddr_in6.self)
                guard uv_ip6_name(address, &name, name.count) == 0 else { return nil }
                return SocketAddress(host: Self.string(fromNullTerminated: name), port: Int(UInt16(bigEndian: address.pointee.sin6_port)))
            default:
                return nil
            }
        }
        guard let parsed else { return nil }
        self = parsed
    }

    private static func string(fromNullTerminated characters: [CChar]) -> String {
        String(decoding: characters.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Reads an address through `uv_tcp_getsockname` / `uv_tcp_getpeername`.
    static func read(
        _ tcp: UnsafeMutablePointer<uv_tcp_t>,
        _ call: (UnsafePointer<uv_tcp_t>, UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<Int32>) -> Int32
    ) -> SocketAddress? {
        var storage = sockaddr_storage()
        var length = Int32(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { call(tcp, $0, &length) }
        }
        guard status == 0 else { return nil }
        return SocketAddress(storage: storage)
    }
}
