import HTTPCore

/// The client a request is from when it came through proxies we trust: the address in
/// `Forwarded: for=…` (RFC 7239) or `X-Forwarded-For`, read from the right (the nearest hop
/// first), skipping hops that are themselves trusted proxies. Used only when the connection's
/// peer is a trusted proxy; an untrusted peer's forwarding fields are ignored (anyone can send them).
enum ForwardedClient {
    /// The client address for a request whose peer is a trusted proxy, or nil to use the peer.
    /// `Forwarded` wins over `X-Forwarded-For` when both are present.
    static func client(of head: RequestHead, trusted: [AddressRange]) -> ClientAddress? {
        let forwarded = head.values(of: .forwarded)
        if !forwarded.isEmpty {
            return pick(forwarded.flatMap(forwardedFor), trusted: trusted)
        }
        let xff = head.values(of: .xForwardedFor)
        if !xff.isEmpty {
            return pick(xff.flatMap(listElements).map(ClientAddress.init), trusted: trusted)
        }
        return nil
    }

    /// Rightmost hop that is not a trusted proxy; if every hop is trusted, the leftmost. A hop
    /// that is not an address (`unknown`, an obfuscated `_name`, garbage) ends the walk: what
    /// lies left of it cannot be trusted, so the peer is used.
    static func pick(_ hops: [ClientAddress?], trusted: [AddressRange]) -> ClientAddress? {
        var last: ClientAddress?
        for hop in hops.reversed() {
            guard let hop else { return nil }
            if !trusted.containsAddress(hop) { return hop }
            last = hop
        }
        return last
    }

    /// Comma-separated elements, OWS trimmed.
    static func listElements(_ value: ArraySlice<UInt8>) -> [String] {
        String(decoding: value, as: UTF8.self).split(separator: ",", omittingEmptySubsequences: true)
            .map { $0.trimmingBlanks() }
    }

    /// The `for=` node of each element of a Forwarded value (nil where an element has none or
    /// its node is not an address). `for="[2001:db8::1]:4711"`, `for=192.0.2.60`, `for=unknown`.
    static func forwardedFor(_ value: ArraySlice<UInt8>) -> [ClientAddress?] {
        listElements(value).map { element in
            for pair in element.split(separator: ";") {
                let kv = pair.split(separator: "=", maxSplits: 1)
                guard kv.count == 2, kv[0].trimmingBlanks().lowercased() == "for" else { continue }
                var node = kv[1].trimmingBlanks()
                if node.hasPrefix("\""), node.hasSuffix("\""), node.count >= 2 { node = String(node.dropFirst().dropLast()) }
                if node.hasPrefix("[") {
                    // [IPv6]:port or [IPv6]
                    guard let close = node.firstIndex(of: "]") else { return nil }
                    return ClientAddress(node[node.index(after: node.startIndex)..<close])
                }
                // IPv4 with an optional :port.
                let host = node.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)[0]
                return ClientAddress(host)
            }
            return nil
        }
    }
}

extension StringProtocol {
    func trimmingBlanks() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
