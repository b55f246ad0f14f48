import Testing

@testable import ArtifactStore

@Suite struct PreloadHintsTests {
    private func hints(
        _ html: String, at documentPath: String = "/index.html", files: [String: String] = [:],
        limit: Int = 8
    ) -> [PreloadHint] {
        let existing = Set(files.keys)
        return PreloadHints.extract(
            html: html, documentPath: documentPath, limit: limit,
            fileExists: { existing.contains($0) }, readText: { files[$0] })
    }

    @Test func aViteStyleEntryPointYieldsModulepreloadAndStyleInDocumentOrder() {
        let html = """
            <!doctype html><html><head>
            <link rel="stylesheet" href="/assets/index-Dk3b_8Zq.css">
            <script type="module" crossorigin src="/assets/index-B5x_q9Ka.js"></script>
            <link rel="modulepreload" href="/assets/vendor-C9a8Zx1q.js">
            </head><body><div id="app"></div></body></html>
            """
        let files = ["/assets/index-Dk3b_8Zq.css": "", "/assets/index-B5x_q9Ka.js": "", "/assets/vendor-C9a8Zx1q.js": ""]
        #expect(
            hints(html, files: files) == [
                PreloadHint(href: "/assets/index-Dk3b_8Zq.css", as: "style"),
                PreloadHint(href: "/assets/index-B5x_q9Ka.js", as: "script", isModule: true),
                PreloadHint(href: "/assets/vendor-C9a8Zx1q.js", as: "script", isModule: true),
            ])
    }

    @Test func relativeReferencesResolveAgainstTheDocumentAndExternalOnesAreSkipped() {
        let html = """
            <SCRIPT SRC='../js/app.js?v=3'></SCRIPT>
            <script src="https://cdn.example.com/lib.js"></script>
            <script src="//cdn.example.com/x.js"></script>
            <link rel=stylesheet href=css/site.css>
            <link rel="alternate stylesheet" href="css/dark.css">
            <script src="missing.js"></script>
            """
        let files = ["/js/app.js": "", "/docs/css/site.css": "", "/docs/css/dark.css": ""]
        #expect(
            hints(html, at: "/docs/guide.html", files: files) == [
                PreloadHint(href: "/js/app.js", as: "script"),
                PreloadHint(href: "/docs/css/site.css", as: "style"),
            ])
    }

    @Test func commentsInlineScriptTextAndNonJavaScriptTypesAreNotMistakenForReferences() {
        let html = """
            <!-- <script src="/commented.js"></script> -->
            <script>document.write('<script src="/written.js"><\\/script>')</script>
            <script type="application/json" src="/data.json"></script>
            <script nomodule src="/legacy.js"></script>
            <script defer src="/real.js"></script>
            """
        let files = ["/commented.js": "", "/written.js": "", "/data.json": "", "/legacy.js": "", "/real.js": ""]
        #expect(hints(html, files: files) == [PreloadHint(href: "/real.js", as: "script")])
    }

    @Test func existingPreloadLinksAreKeptWithTheirDestinationAndCrossorigin() {
        let html = """
            <link rel="preload" href="/fonts/inter.woff2" as="font" type="font/woff2" crossorigin>
            <link rel="preload" href="/hero.webp" as="image">
            <link rel="preload" href="/no-as.bin">
            """
        let files = ["/fonts/inter.woff2": "", "/hero.webp": "", "/no-as.bin": ""]
        #expect(
            hints(html, files: files) == [
                PreloadHint(href: "/fonts/inter.woff2", as: "font", crossorigin: true),
                PreloadHint(href: "/hero.webp", as: "image"),
            ])
    }

    @Test func wasmNamedByAScriptAndFontsNamedByAStylesheetAreHintedAfterTheirParents() {
        let html = #"<link rel="stylesheet" href="assets/app.css"><script type="module" src="assets/app.js"></script>"#
        let files = [
            "/assets/app.css": "@font-face { src: url(\"fonts/ui.woff2\") format('woff2'), url(fonts/ui.ttf); } body { background: url(bg.png) }",
            "/assets/app.js": "const m = await WebAssembly.instantiateStreaming(fetch(new URL('./add.wasm', import.meta.url)));",
            "/assets/fonts/ui.woff2": "", "/assets/fonts/ui.ttf": "", "/assets/bg.png": "", "/assets/add.wasm": "",
        ]
        #expect(
            hints(html, files: files) == [
                PreloadHint(href: "/assets/app.css", as: "style"),
                PreloadHint(href: "/assets/app.js", as: "script", isModule: true),
                PreloadHint(href: "/assets/fonts/ui.woff2", as: "font", crossorigin: true),
                PreloadHint(href: "/assets/fonts/ui.ttf", as: "font", crossorigin: true),
                PreloadHint(href: "/assets/add.wasm", as: "fetch", crossorigin: true),
            ])
    }

    @Test func hintsAreCappedAndDuplicatesCollapsed() {
        let html = (1...12).map { "<script src=\"/s\($0).js\"></script>" }.joined() + "<script src=\"/s1.js\"></script>"
        let files = Dictionary(uniqueKeysWithValues: (1...12).map { ("/s\($0).js", "") })
        let result = hints(html, files: files, limit: 8)
        #expect(result.map(\.href) == (1...8).map { "/s\($0).js" })
        #expect(hints(html, files: files, limit: 0).isEmpty)
    }

    @Test func malformedHTMLNeverCrashesAndYieldsWhatItCan() {
        let shapes = [
            "<", "<script", "<script src=", "<link rel=\"stylesheet\" href=\"/a.css", "<!--", "<script src=\"/a.js\">",
            "<<<>>>", "<script src=/a.js/>", String(repeating: "<script ", count: 1000),
        ]
        for html in shapes {
            _ = hints(html, files: ["/a.js": "", "/a.css": ""])
        }
        #expect(hints("<script src=/a.js>", files: ["/a.js": ""]) == [PreloadHint(href: "/a.js", as: "script")])
    }

    @Test func linkHeaderValuesFollowRFC8288() {
        #expect(PreloadHint(href: "/a.js", as: "script").linkValue == "</a.js>; rel=preload; as=script")
        #expect(PreloadHint(href: "/m.js", as: "script", isModule: true).linkValue == "</m.js>; rel=modulepreload")
        #expect(PreloadHint(href: "/f.woff2", as: "font", crossorigin: true).linkValue == "</f.woff2>; rel=preload; as=font; crossorigin")
    }
}
