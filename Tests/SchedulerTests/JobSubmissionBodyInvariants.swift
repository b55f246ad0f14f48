// Invariants of the job-submission body check (`JobSubmissionBody`) on arbitrary bytes. No test
// framework here: `scripts/fuzz.sh admin-json` compiles this file with JobSubmissionBody.swift
// and the admin body checks, and JobSubmissionBodyFuzzTests runs it in the test suite.
#if canImport(Scheduler)
    @testable import Scheduler
#endif

/// Parses `body`; returns the first broken invariant, or nil. A body is accepted with the
/// required fields present, or refused with a message; nothing else.
func jobSubmissionBodyInvariantViolation(_ body: [UInt8]) -> String? {
    do {
        let parsed = try JobSubmissionBody.parse(body)
        if let priority = parsed.priority, priority.isEmpty, !String(decoding: body, as: UTF8.self).contains("\"priority\"") {
            return "a priority from nowhere"
        }
        if try JobSubmissionBody.parse(body) != parsed { return "parse not deterministic" }
    } catch {
        if error.message.isEmpty { return "refusal without a reason" }
    }
    return nil
}

/// Seeds: accepted submissions and near misses.
let jobSubmissionBodySeeds: [String] = [
    #"{"app": "shop", "type": "javascript_web", "source": "/srv/src/shop", "cmd": "npm run build", "output": "dist", "priority": "release", "kind": "user_push", "activate": false, "owner": "ana"}"#,
    #"{"app": "shop", "type": "flutter_web", "source": "/s", "priority": 3}"#,
    #"{"app": "shop", "type": "x", "source": "/s", "priority": 1e99}"#,
    #"{"app": null, "type": [], "source": {}}"#,
    #"{"app": "a", "type": "b", "source": "c", "unknown": 1}"#,
    #"{"app": "a", "type": "b", "source": "c", "activate": "yes"}"#,
]
