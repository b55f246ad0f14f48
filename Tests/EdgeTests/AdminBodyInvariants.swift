// Invariants of the admin API's JSON body checks (AdminJSON and the edge routes' AdminBodies) on
// arbitrary bytes. No test framework here: `scripts/fuzz.sh admin-json` compiles this file with
// those sources and Fuzz/AdminJSONFuzz.swift, and AdminBodyFuzzTests runs it in the test suite.
#if canImport(Edge)
    @testable import Edge
#endif

/// Runs every body check on `body`; returns the first broken invariant, or nil. A check may
/// accept the body or refuse it with a 400 AdminError naming the problem, nothing else.
func adminBodyInvariantViolation(_ body: [UInt8]) -> String? {
    func refusal(_ error: any Error) -> String? {
        guard let e = error as? AdminError else { return "not an AdminError: \(error)" }
        if e.status != 400 { return "status \(e.status)" }
        if e.message.isEmpty { return "refusal without a reason" }
        return nil
    }
    do {
        let warm = try AdminBodies.warm(body)
        if warm.app.isEmpty { return "warm accepted an empty app" }
        if warm.paths.contains(where: { !$0.hasPrefix("/") }) { return "warm accepted a relative path" }
        if (warm.encodings?.count ?? 0) > 8 { return "warm accepted more than 8 encodings" }
    } catch {
        if let problem = refusal(error) { return "warm: \(problem)" }
    }
    do {
        if let to = try AdminBodies.rollback(body), to.isEmpty { return "rollback accepted an empty target" }
    } catch {
        if let problem = refusal(error) { return "rollback: \(problem)" }
    }
    do {
        try AdminBodies.purge(body)
    } catch {
        if let problem = refusal(error) { return "purge: \(problem)" }
    }
    do {
        if let object = try AdminJSON.object(body, optional: true) {
            for key in ["app", "paths", "to", "encodings", ""] {
                do { _ = try object.string(key) } catch { if let p = refusal(error) { return "string(\(key)): \(p)" } }
                do { _ = try object.strings(key, maxCount: 3) } catch { if let p = refusal(error) { return "strings(\(key)): \(p)" } }
            }
        }
    } catch {
        if let problem = refusal(error) { return "object: \(problem)" }
    }
    return nil
}

/// Seeds: the shapes the routes accept, and near misses.
let adminBodySeeds: [String] = [
    #"{"app": "demo", "paths": ["/index.html", "/assets/app.js"], "encodings": ["br", "identity"]}"#,
    #"{"to": "d-0123456789abcdef"}"#,
    "{}",
    "",
    #"{"app": "demo", "paths": "/index.html"}"#,
    #"{"app": 1, "paths": [null, 2, {"x": []}], "extra": true}"#,
    #"[{"app": "demo"}]"#,
    #"{"to": "", "to": "x"}"#,
    #"{"app": "\u0000", "paths": ["\ud800"]}"#,
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
]
