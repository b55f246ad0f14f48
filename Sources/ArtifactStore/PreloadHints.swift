/// Finds, at publish time, the resources an HTML entry point needs first, so the edge can send
/// `Link: rel=preload` and `103 Early Hints` without parsing HTML per request. Pure: the HTML
/// and a lookup for other files of the deployment go in, hints come out.
///
/// Collected in document order: `<script src>` (modulepreload for `type=module`; `nomodule`
/// and non-JavaScript types skipped), `<link rel=stylesheet>`, existing `<link rel=preload>` /
/// `modulepreload`; then wasm modules named by string literals in those scripts (or inline
/// scripts) and fonts named by `url(…)` in those stylesheets. Only files that exist in the
/// deployment are hinted; external URLs never are. At most `limit` hints.
enum PreloadHints {
    static func extract(
        html: String, documentPath: String, limit: Int,
        fileExists: (String) -> Bool,
        readText: (String) -> String?
    ) -> [PreloadHint] {
        guard limit > 0 else { return [] }
        let tags = HTMLTagScanner.scan(html)
        var hints: [PreloadHint] = []
        var seen: Set<String> = []
        var inlineScripts: [String] = []

        func add(_ hint: PreloadHint) {
            guard seen.insert(hint.href).inserted else { return }
            hints.append(hint)
        }

        for tag in tags {
            switch tag.name {
            case "script":
                if let src = tag.attributes["src"] {
                    guard tag.attributes["nomodule"] == nil else { continue }
                    let type = (tag.attributes["type"] ?? "").lowercased()
                    let isModule = type == "module"
                    guard isModule || isJavaScriptType(type) else { continue }
                    guard let href = URLPath.resolve(src, against: documentPath), fileExists(URLPath.decoded(href)) else { continue }
                    add(PreloadHint(href: href, as: "script", isModule: isModule))
                } else if let body = tag.body {
                    inlineScripts.append(body)
                }
            case "link":
                let rels = Set(
                    (tag.attributes["rel"] ?? "").lowercased().split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init))
                guard let raw = tag.attributes["href"], !rels.contains("alternate"),
                    let href = URLPath.resolve(raw, against: documentPath), fileExists(URLPath.decoded(href))
                else { continue }
                if rels.contains("stylesheet") {
                    add(PreloadHint(href: href, as: "style"))
                } else if rels.contains("modulepreload") {
                    add(PreloadHint(href: href, as: "script", isModule: true))
                } else if rels.contains("preload"), let destination = tag.attributes["as"]?.lowercased(), !destination.isEmpty {
                    add(PreloadHint(href: href, as: destination, crossorigin: tag.attributes["crossorigin"] != nil || destination == "font"))
                }
            default:
                continue
            }
        }

        // Second pass: wasm named by the scripts, fonts named by the stylesheets.
        var discovered: [PreloadHint] = []
        for hint in hints where hint.as == "script" || hint.as == "style" {
            guard let text = readText(URLPath.decoded(hint.href)) else { continue }
            let bases = hint.as == "script" ? [hint.href, documentPath] : [hint.href]
            let references = hint.as == "script" ? ReferenceScanner.wasmLiterals(in: text) : ReferenceScanner.fontURLs(in: text)
            for reference in references {
                for base in bases {
                    if let href = URLPath.resolve(reference, against: base), fileExists(URLPath.decoded(href)) {
                        discovered.append(PreloadHint(href: href, as: hint.as == "script" ? "fetch" : "font", crossorigin: true))
                        break
                    }
                }
            }
        }
        for script in inlineScripts {
            for reference in ReferenceScanner.wasmLiterals(in: script) {
                if let href = URLPath.resolve(reference, against: documentPath), fileExists(URLPath.decoded(href)) {
                    discovered.append(PreloadHint(href: href, as: "fetch", crossorigin: true))
                }
            }
        }
        discovered.forEach(add)
        return Array(hints.prefix(limit))
    }

    private static func isJavaScriptType(_ type: String) -> Bool {
        // HTML "JavaScript MIME type essence match"; an empty type means classic script.
        let essence = type.split(separator: ";").first.map { $0.trimmed(" \t") } ?? ""
        return essence.isEmpty
            || [
                "text/javascript", "application/javascript", "application/ecmascript",
                "text/ecmascript", "application/x-javascript",
            ].contains(essence)
    }
}

extension Substring {
    func trimmed(_ set: String) -> String {
        var s = self
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return String(s)
    }
}
