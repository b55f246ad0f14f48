/// A small, forgiving tokenizer for the start tags preload extraction cares about
/// (`script`, `link`). Skips comments, and the raw text of `script`, `style`, `textarea` and
/// `template`, so markup quoted inside them is not mistaken for tags. Not a full HTML parser:
/// it needs only names, attributes and inline script text.
struct HTMLTagScanner {
    struct Tag: Equatable {
        var name: String
        /// Lower-cased attribute names; entity references are not decoded (URLs rarely need it).
        var attributes: [String: String]
        /// Raw text content, for `script` without `src`.
        var body: String?
    }

    static func scan(_ html: String) -> [Tag] {
        let bytes = Array(html.utf8)
        var tags: [Tag] = []
        var i = 0
        while let open = bytes[i...].firstIndex(of: UInt8(ascii: "<")) {
            i = open + 1
            if bytes[i...].starts(with: Array("!--".utf8)) {
                i = find(Array("-->".utf8), in: bytes, from: i + 3).map { $0 + 3 } ?? bytes.count
                continue
            }
            var nameEnd = i
            while nameEnd < bytes.count, isNameByte(bytes[nameEnd]) { nameEnd += 1 }
            guard nameEnd > i else { continue }
            let name = String(decoding: bytes[i..<nameEnd], as: UTF8.self).lowercased()
            var attributes: [String: String] = [:]
            i = parseAttributes(bytes, from: nameEnd, into: &attributes)
            let rawText = ["script", "style", "textarea", "template"]
            var body: String?
            if rawText.contains(name) {
                let close = Array("</\(name)".utf8)
                let end = findCaseInsensitive(close, in: bytes, from: i) ?? bytes.count
                if name == "script", attributes["src"] == nil { body = String(decoding: bytes[i..<end], as: UTF8.self) }
                i = end
            }
            if name == "script" || name == "link" { tags.append(Tag(name: name, attributes: attributes, body: body)) }
        }
        return tags
    }

    /// Parses `name`, `name=value`, `name="value"`, `name='value'` up to `>`; returns the index after it.
    private static func parseAttributes(_ bytes: [UInt8], from start: Int, into attributes: inout [String: String]) -> Int {
        var i = start
        while i < bytes.count {
            while i < bytes.count, isSpace(bytes[i]) || bytes[i] == UInt8(ascii: "/") { i += 1 }
            guard i < bytes.count else { break }
            if bytes[i] == UInt8(ascii: ">") { return i + 1 }
            let nameStart = i
            while i < bytes.count, !isSpace(bytes[i]), bytes[i] != UInt8(ascii: "="), bytes[i] != UInt8(ascii: ">"), bytes[i] != UInt8(ascii: "/") {
                i += 1
            }
            let name = String(decoding: bytes[nameStart..<i], as: UTF8.self).lowercased()
            while i < bytes.count, isSpace(bytes[i]) { i += 1 }
            var value = ""
            if i < bytes.count, bytes[i] == UInt8(ascii: "=") {
                i += 1
                while i < bytes.count, isSpace(bytes[i]) { i += 1 }
                if i < bytes.count, bytes[i] == UInt8(ascii: "\"") || bytes[i] == UInt8(ascii: "'") {
                    let quote = bytes[i]
                    let valueStart = i + 1
                    let valueEnd = bytes[valueStart...].firstIndex(of: quote) ?? bytes.count
                    value = String(decoding: bytes[valueStart..<valueEnd], as: UTF8.self)
                    i = min(valueEnd + 1, bytes.count)
                } else {
                    let valueStart = i
                    while i < bytes.count, !isSpace(bytes[i]), bytes[i] != UInt8(ascii: ">") { i += 1 }
                    value = String(decoding: bytes[valueStart..<i], as: UTF8.self)
                }
            }
            if !name.isEmpty, attributes[name] == nil { attributes[name] = value }
        }
        return bytes.count
    }

    private static func isNameByte(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) || (b >= 0x30 && b <= 0x39) || b == 0x2d
    }

    private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0a || b == 0x0c || b == 0x0d }

    private static func find(_ needle: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard needle.count <= bytes.count, start <= bytes.count - needle.count else { return nil }
        for i in start...(bytes.count - needle.count) where bytes[i] == needle[0] {
            if bytes[i..<(i + needle.count)].elementsEqual(needle) { return i }
        }
        return nil
    }

    private static func findCaseInsensitive(_ needle: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard needle.count <= bytes.count, start <= bytes.count - needle.count else { return nil }
        func lower(_ b: UInt8) -> UInt8 { (b >= 0x41 && b <= 0x5a) ? b + 32 : b }
        for i in start...(bytes.count - needle.count) where bytes[i] == needle[0] {
            if zip(bytes[i..<(i + needle.count)], needle).allSatisfy({ lower($0) == $1 }) { return i }
        }
        return nil
    }
}
