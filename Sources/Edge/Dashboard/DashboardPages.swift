/// The dashboard's HTML: a sign-in page and one skeleton per page, filled in by
/// `dashboard.js` from the admin API. The only values written into the HTML by the server are
/// the session's CSRF token and role (hex and a fixed word) and the sign-in error (a fixed
/// sentence); all of them go through `escape` anyway. Everything from the data (app names,
/// alert text, job fields) is put into the page by the script with `textContent`, never as HTML.
enum DashboardPages {
    /// The pages, in navigation order: path segment and title.
    static let pages: [(name: String, title: String)] = [
        ("overview", "Overview"), ("builds", "Builds"), ("slots", "Slots"), ("apps", "Apps"), ("alerts", "Alerts"),
    ]

    /// The headers every dashboard response carries besides the admin listener's own
    /// (`Cache-Control: no-store`, `X-Content-Type-Options: nosniff`).
    static let securityHeaders: [AdminRequest.Header] = [
        .init(
            name: "Content-Security-Policy",
            value:
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
        ),
        .init(name: "Referrer-Policy", value: "no-referrer"),
        .init(name: "X-Frame-Options", value: "DENY"),
        .init(name: "Cross-Origin-Opener-Policy", value: "same-origin"),
    ]

    /// HTML-escapes text for element content and double-quoted attribute values.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    static func response(_ status: Int, _ html: String, headers: [AdminRequest.Header] = []) -> AdminResponse {
        AdminResponse(
            status: status, body: Array(html.utf8), contentType: "text/html; charset=utf-8",
            headers: securityHeaders + headers)
    }

    static func redirect(_ location: String, headers: [AdminRequest.Header] = []) -> AdminResponse {
        AdminResponse(
            status: 303, body: [], contentType: "text/plain; charset=utf-8",
            headers: securityHeaders + [.init(name: "Location", value: location)] + headers)
    }

    private static func head(_ title: String, csrf: String?) -> String {
        """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        \(csrf.map { "<meta name=\"wharf-csrf\" content=\"\(escape($0))\">\n" } ?? "")<title>\(escape(title)) · Wharf</title>
        <link rel="icon" href="/_wharf/ui/assets/favicon.svg" type="image/svg+xml">
        <link rel="stylesheet" href="/_wharf/ui/assets/dashboard.css">
        <script type="module" src="/_wharf/ui/assets/dashboard.js"></script>
        </head>
        """
    }

    /// The sign-in form; `error` is shown above it (escaped).
    static func signIn(error: String? = nil) -> String {
        head("Sign in", csrf: nil) + """

            <body data-page="signin">
            <main class="signin">
            <h1>Wharf dashboard</h1>
            \(error.map { "<p class=\"error\" role=\"alert\">\(escape($0))</p>" } ?? "")
            <form method="post" action="/_wharf/session">
            <label for="token">Admin or read-only token</label>
            <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
            <button type="submit">Sign in</button>
            </form>
            <p class="hint">The admin token is in <code>&lt;store&gt;/admin-token</code> or <code>$WHARF_ADMIN_TOKEN</code>;
            a read-only token in <code>&lt;store&gt;/read-token</code> or <code>$WHARF_READ_TOKEN</code>.</p>
            </main>
            </body>
            </html>

            """
    }

    /// A page's skeleton for a signed-in session.
    static func page(_ name: String, session: DashboardSessions.Session) -> String? {
        guard let title = pages.first(where: { $0.name == name })?.title, let main = sections[name] else { return nil }
        let nav = pages.map { p in
            "<a href=\"/_wharf/ui/\(p.name)\"\(p.name == name ? " aria-current=\"page\"" : "")>\(p.title)</a>"
        }.joined(separator: "\n")
        return head(title, csrf: session.csrf) + """

            <body data-page="\(escape(name))" data-role="\(escape(session.role.rawValue))">
            <header>
            <nav aria-label="Dashboard pages">
            <span class="brand">Wharf</span>
            \(nav)
            </nav>
            <form method="post" action="/_wharf/session/end" class="signout">
            <input type="hidden" name="csrf" value="\(escape(session.csrf))">
            <span class="role">\(session.role == .admin ? "admin" : "read-only")</span>
            <button type="submit" id="signout">Sign out</button>
            </form>
            </header>
            <main id="main">
            <h1>\(title)</h1>
            <p id="updated">Loading…</p>
            \(main)
            </main>
            </body>
            </html>

            """
    }

    /// Each page's sections; the script fills the elements with ids.
    static let sections: [String: String] = [
        "overview": """
        <section aria-labelledby="h-now"><h2 id="h-now">Now</h2><dl id="figures" class="figures"></dl></section>
        <section aria-labelledby="h-charts"><h2 id="h-charts">Edge, last hour (10 s points)</h2><div id="charts" class="charts"></div></section>
        """,
        "builds": """
        <section aria-labelledby="h-queue"><h2 id="h-queue">Queue, in priority order</h2><div id="queue"></div></section>
        <section aria-labelledby="h-running"><h2 id="h-running">Running</h2><div id="running"></div></section>
        <section aria-labelledby="h-log"><h2 id="h-log">Build log</h2>
        <p id="log-status" role="status" aria-live="polite">Choose Log on a running build to follow its log live, or on a finished one for its end.</p>
        <button type="button" id="log-close" hidden>Close log</button>
        <ol id="log" class="log" aria-label="Build log, last 500 lines" tabindex="0" hidden></ol></section>
        <section aria-labelledby="h-finished"><h2 id="h-finished">Finished</h2><div id="finished"></div></section>
        <section aria-labelledby="h-types"><h2 id="h-types">By build type</h2><div id="types"></div></section>
        """,
        "slots": """
        <section aria-labelledby="h-slotchart"><h2 id="h-slotchart">Desired and active slots, last hour</h2><div id="slot-chart" class="charts"></div></section>
        <section aria-labelledby="h-pool"><h2 id="h-pool">Slots now</h2><div id="pool"></div></section>
        <section aria-labelledby="h-decisions"><h2 id="h-decisions">Scaling decisions</h2><div id="decisions"></div></section>
        """,
        "apps": """
        <section aria-labelledby="h-apps"><h2 id="h-apps">Apps and current deployments</h2><div id="apps"></div></section>
        <p id="action-result" role="status" aria-live="polite"></p>
        """,
        "alerts": """
        <section aria-labelledby="h-alerts"><h2 id="h-alerts">Firing and resolved</h2><div id="alerts"></div></section>
        """,
    ]
}
