/// The dashboard's stylesheet, served at `/_wharf/ui/assets/dashboard.css`.
enum DashboardStyle {
    static let source = #"""
        :root { --fg: #1b1f24; --muted: #57606a; --bg: #ffffff; --panel: #f6f8fa; --line: #d0d7de; --accent: #0b5cad;
          --s0: #0b5cad; --s1: #b3261e; --s2: #2e7d32; color-scheme: light; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
        header { display: flex; flex-wrap: wrap; justify-content: space-between; align-items: center; gap: .5rem;
          padding: .5rem 1rem; background: var(--panel); border-bottom: 1px solid var(--line); }
        nav { display: flex; flex-wrap: wrap; gap: .25rem .9rem; align-items: center; }
        nav a { color: var(--accent); text-decoration: none; padding: .2rem 0; }
        nav a[aria-current="page"] { font-weight: 700; border-bottom: 2px solid var(--accent); }
        nav a:focus-visible, button:focus-visible, input:focus-visible { outline: 3px solid #f0b400; outline-offset: 2px; }
        .brand { font-weight: 800; margin-right: .5rem; }
        .signout { display: flex; gap: .5rem; align-items: center; margin: 0; }
        .role { color: var(--muted); font-size: .9em; }
        main { padding: 1rem; max-width: 1280px; margin: 0 auto; }
        h1 { font-size: 1.5rem; margin: .2rem 0 .5rem; }
        h2 { font-size: 1.15rem; margin: 1.4rem 0 .5rem; }
        h3 { font-size: 1rem; margin: 1rem 0 .4rem; }
        #updated { color: var(--muted); font-size: .9em; }
        .figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: .5rem; margin: 0; }
        .figures dt { color: var(--muted); font-size: .85em; }
        .figures dd { margin: 0 0 .5rem; font-size: 1.3em; font-weight: 600; }
        .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 420px), 1fr)); gap: 1rem; }
        .chart-box { margin: 0; padding: .5rem; background: var(--panel); border: 1px solid var(--line); border-radius: 6px; }
        .chart-box figcaption { font-size: .9em; }
        .chart-box .latest { color: var(--muted); }
        svg.chart { width: 100%; height: auto; display: block; }
        svg .axis { stroke: var(--muted); stroke-width: 1; }
        svg .tick { fill: var(--muted); font-size: 10px; }
        svg .line { fill: none; stroke-width: 2; }
        /* Dashed and dotted: a series that coincides with another stays visible (desired = active slots). */
        svg .line.s0 { stroke: var(--s0); } svg .line.s1 { stroke: var(--s1); stroke-dasharray: 7 4; } svg .line.s2 { stroke: var(--s2); stroke-dasharray: 2 3; }
        svg .dot.s0 { fill: var(--s0); } svg .dot.s1 { fill: var(--s1); } svg .dot.s2 { fill: var(--s2); }
        .legend { list-style: none; display: flex; gap: 1rem; padding: 0; margin: .2rem 0 0; font-size: .85em; }
        .legend li::before { content: ""; display: inline-block; width: .8em; height: .8em; margin-right: .3em; border-radius: 2px; }
        .legend li.s0::before { background: var(--s0); } .legend li.s1::before { background: var(--s1); } .legend li.s2::before { background: var(--s2); }
        table { border-collapse: collapse; width: 100%; font-size: .92em; display: block; overflow-x: auto; }
        th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { background: var(--panel); }
        .empty { color: var(--muted); }
        .factors, .suggestions { margin: 0; padding-left: 1.1em; }
        .state.firing, .state.failed, .state.timed_out { color: var(--s1); font-weight: 600; }
        .state.succeeded, .state.resolved { color: var(--s2); }
        .current { color: var(--s2); }
        .app { border: 1px solid var(--line); border-radius: 6px; padding: .5rem 1rem; margin-bottom: 1rem; }
        .actions { display: flex; gap: .5rem; margin-bottom: .5rem; }
        button { font: inherit; padding: .3rem .8rem; border: 1px solid var(--accent); background: var(--bg); color: var(--accent); border-radius: 4px; cursor: pointer; }
        button:hover { background: var(--panel); }
        #log-close { margin-bottom: .5rem; }
        .log { list-style: none; margin: 0; padding: .5rem .75rem; max-height: 26rem; overflow: auto; background: #0d1117; color: #e6edf3;
          border-radius: 6px; font: .85em/1.4 ui-monospace, "DejaVu Sans Mono", monospace; white-space: pre-wrap; overflow-wrap: anywhere; }
        .log li { min-height: 1.4em; }
        /* Stage timeline of a running build: an SVG bar (segments in proportion to time), then the stages listed. */
        .timeline { min-width: 18rem; }
        svg.timeline-bar { width: 100%; height: 1.1rem; display: block; border-radius: 3px; }
        svg.timeline-bar .track { fill: var(--panel); stroke: var(--line); }
        svg.timeline-bar .segment { stroke: var(--bg); stroke-width: 1; }
        svg.timeline-bar .c0 { fill: #9ab8d8; } svg.timeline-bar .c1 { fill: #a9cfa9; } svg.timeline-bar .c2 { fill: #d8c49a; } svg.timeline-bar .c3 { fill: #c7a9d8; }
        svg.timeline-bar .segment.current { fill: var(--accent); }
        .stages { list-style: none; display: flex; flex-wrap: wrap; gap: .1rem .8rem; padding: 0; margin: .25rem 0 0; font-size: .88em; }
        .stages li.current { font-weight: 700; color: var(--accent); }
        .stages .elapsed { color: var(--muted); font-variant-numeric: tabular-nums; }
        .stages li.current .elapsed { color: inherit; }
        /* An app's traffic figures: label above value, side by side while they fit. */
        .pairs { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 250px), 1fr)); gap: .4rem 1rem; margin: 0 0 .5rem; }
        .pairs dt { color: var(--muted); font-size: .85em; }
        .pairs dd { margin: 0; font-weight: 600; }
        h4 { font-size: .95rem; margin: .8rem 0 .3rem; }
        .signin { max-width: 26rem; margin: 4rem auto; }
        .signin form { display: grid; gap: .5rem; }
        .signin input { font: inherit; padding: .4rem; border: 1px solid var(--muted); border-radius: 4px; }
        .error { color: var(--s1); font-weight: 600; }
        .hint { color: var(--muted); font-size: .9em; }
        @media (max-width: 600px) { main { padding: .5rem; } .figures dd { font-size: 1.1em; } }
        """#

    /// The pages' icon (a page without one makes the browser ask for `/favicon.ico`, which the
    /// admin listener answers 401: a console error on every page).
    static let favicon = #"""
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#0b5cad"/><path d="M3 11h10v2H3zM5 4h2v6H5zM9 6h2v4H9z" fill="#fff"/></svg>
        """#
}
