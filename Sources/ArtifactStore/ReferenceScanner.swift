import Foundation

/// Finds file references inside JavaScript and CSS text, for preload hints: wasm modules named
/// by string literals (`"add.wasm"`, `new URL('./m.wasm', import.meta.url)`) and fonts named
/// by CSS `url(…)`. Heuristic by design: a miss only costs a preload.
enum ReferenceScanner {
    static let fontExtensions: Set<String> = ["woff2", "woff", "ttf", "otf"]

    /// String literals (', ", `) whose content ends in `.wasm` and looks like a path.
    static func wasmLiterals(in text: String) -> [String] {
        var found: [String] = []
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            let quote = bytes[i]
            guard quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") || quote == UInt8(ascii: "`") else {
                i += 1
                continue
            }
            var end = i + 1
            while end < bytes.count, bytes[end] != quote, bytes[end] != 0x0a, end - i < 512 { end += 1 }
            guard end < bytes.count, bytes[end] == quote else {
                i += 1
                continue
            }
            let literal = String(decoding: bytes[(i + 1)..<end], as: UTF8.self)
            if literal.hasSuffix(".wasm"), !literal.contains(" "), !literal.contains("${"), !found.contains(literal) {
                found.append(literal)
            }
            i = end + 1
        }
        return found
    }

    /// `url(...)` arguments in CSS whose extension is a font format.
    static func fontURLs(in css: String) -> [String] {
        var found: [String] = []
        var rest = Substring(css)
        while let range = rest.range(of: "url(") {
            rest = rest[range.upperBound...]
            guard let close = rest.firstIndex(of: ")") else { break }
            var argument = rest[..<close].trimmed(" \t\n\r")
            if let first = argument.first, first == "\"" || first == "'", argument.count >= 2, argument.last == first {
                argument = String(argument.dropFirst().dropLast())
            }
            let path = argument.split(separator: "?").first.map(String.init) ?? argument
            let ext = path.split(separator: ".").last.map { $0.lowercased() } ?? ""
            if fontExtensions.contains(ext), !found.contains(argument) { found.append(argument) }
            rest = rest[close...]
        }
        return found
    }
}
