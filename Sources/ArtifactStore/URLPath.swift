/// Resolution of references found in HTML/JS/CSS against the document's URL path, within one
/// deployment: relative paths, `./` and `../` segments, query and fragment dropped. External
/// URLs (`https:`, `//host`, `data:`) resolve to nil.
enum URLPath {
    static func resolve(_ reference: String, against base: String) -> String? {
        var ref = Substring(Substring(reference).trimmed(" \t\n\r"))
        if let cut = ref.firstIndex(where: { $0 == "?" || $0 == "#" }) { ref = ref[..<cut] }
        guard !ref.isEmpty, !ref.hasPrefix("//") else { return nil }
        if let colon = ref.firstIndex(of: ":"), !ref[..<colon].contains("/") { return nil }  // has a scheme
        var segments: [Substring]
        if ref.hasPrefix("/") {
            segments = []
        } else {
            segments = base.split(separator: "/", omittingEmptySubsequences: false).dropFirst().dropLast().map { $0 }
        }
        for segment in ref.split(separator: "/", omittingEmptySubsequences: false) {
            switch segment {
            case ".", "": continue
            case "..": if !segments.isEmpty { segments.removeLast() }
            default: segments.append(segment)
            }
        }
        guard !segments.isEmpty else { return nil }
        return "/" + segments.joined(separator: "/")
    }

    /// Percent-decodes a path (`%20` → space) for lookup among file names; invalid escapes stay.
    static func decoded(_ path: String) -> String {
        guard path.contains("%") else { return path }
        let bytes = Array(path.utf8)
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%"), i + 2 < bytes.count, let hi = hexValue(bytes[i + 1]), let lo = hexValue(bytes[i + 2]) {
                out.append(hi << 4 | lo)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: return b - 0x30
        case 0x41...0x46: return b - 0x41 + 10
        case 0x61...0x66: return b - 0x61 + 10
        default: return nil
        }
    }
}
