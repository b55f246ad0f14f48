internal import COpenSSL

#if canImport(Glibc)
    import Glibc
#endif

/// Reading what a loaded certificate says: its names and validity dates.
enum CertificateInspection {
    /// subjectAltName DNS names and IP addresses (dotted or colon form).
    static func subjectAltNames(_ certificate: OpaquePointer) -> [String] {
        guard let names = X509_get_ext_d2i(certificate, NID_subject_alt_name, nil, nil) else { return [] }
        defer { wharf_general_names_free(names) }
        var out: [String] = []
        for index in 0..<wharf_general_names_count(names) {
            var data: UnsafePointer<UInt8>?
            var length: Int32 = 0
            let kind = wharf_general_name_at(names, index, &data, &length)
            guard let data, length > 0 else { continue }
            let bytes = UnsafeBufferPointer(start: data, count: Int(length))
            if kind == 1 {
                out.append(String(decoding: bytes, as: UTF8.self))
            } else if kind == 2 {
                var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
                let family = length == 4 ? AF_INET : AF_INET6
                if inet_ntop(family, data, &text, socklen_t(text.count)) != nil {
                    out.append(String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
                }
            }
        }
        return out
    }

    /// An ASN1_TIME as `YYYY-MM-DD HH:MM:SSZ`.
    static func time(_ time: UnsafePointer<ASN1_TIME>?) -> String {
        guard let time else { return "?" }
        var parts = tm()
        guard ASN1_TIME_to_tm(time, &parts) == 1 else { return "?" }
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return
            "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }
}
