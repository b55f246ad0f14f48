import Testing
import WharfTestSupport

@testable import Scheduler

/// The job-submission body invariants `make fuzz` checks (JobSubmissionBodyInvariants.swift), over
/// seeded mutations, and the shapes the admin API's job route must accept and refuse.
@Suite struct JobSubmissionBodyFuzzTests {
    static let tokens: [[UInt8]] = [
        "{", "}", "[", "]", "\"", ":", ",", "null", "true", "3", "-1", "1e999", "\"priority\"",
        "\"app\"", "\"source\"", "\"activate\"", "\\ud800",
    ].map { Array($0.utf8) }

    @Test func seedsAndFiveThousandMutationsKeepTheInvariants() {
        var random = SeededRandom(seed: 7)
        let corpus = jobSubmissionBodySeeds.map { Array($0.utf8) }
        for seed in corpus { #expect(jobSubmissionBodyInvariantViolation(seed) == nil) }
        for _ in 0..<5_000 {
            var input = corpus[Int(random.next() % UInt64(corpus.count))]
            let at = input.isEmpty ? 0 : Int(random.next() % UInt64(input.count))
            switch random.next() % 3 {
            case 0 where !input.isEmpty: input[at] = UInt8(truncatingIfNeeded: random.next())
            case 1 where !input.isEmpty: input.removeSubrange(at..<min(input.count, at + 1 + Int(random.next() % 6)))
            default: input.insert(contentsOf: Self.tokens[Int(random.next() % UInt64(Self.tokens.count))], at: at)
            }
            if let violation = jobSubmissionBodyInvariantViolation(input) {
                Issue.record("\(violation) for \(String(decoding: input, as: UTF8.self))")
                return
            }
        }
    }

    @Test func shapesAreAcceptedOrRefusedWithTheirReason() throws {
        let full = try JobSubmissionBody.parse(Array(jobSubmissionBodySeeds[0].utf8))
        #expect(
            full
                == JobSubmissionBody(
                    app: "shop", type: "javascript_web", source: "/srv/src/shop", cmd: "npm run build",
                    output: "dist", priority: "release", kind: "user_push", activate: false, owner: "ana"))
        #expect(try JobSubmissionBody.parse(Array(jobSubmissionBodySeeds[1].utf8)).priority == "3")
        for (body, message) in [
            ("", "a JSON object body is required"), ("[1]", "wrong shape: the body must be a JSON object"),
            ("{", "malformed JSON: the body is not valid JSON"),
            (#"{"app": "a", "type": "b"}"#, "\"app\", \"type\" and \"source\" are required"),
        ] {
            #expect(throws: JobSubmissionBody.Problem(message: message)) { try JobSubmissionBody.parse(Array(body.utf8)) }
        }
        #expect(throws: JobSubmissionBody.Problem.self) { try JobSubmissionBody.parse(Array(jobSubmissionBodySeeds[4].utf8)) }
        #expect(throws: JobSubmissionBody.Problem.self) { try JobSubmissionBody.parse(Array(jobSubmissionBodySeeds[5].utf8)) }
    }

    @Test func forceIsAnOptionalBooleanAndNothingElse() throws {
        let base = #""app": "shop", "type": "javascript_web", "source": "/srv/src/shop""#
        #expect(try JobSubmissionBody.parse(Array("{\(base)}".utf8)).force == false)
        #expect(try JobSubmissionBody.parse(Array("{\(base), \"force\": true}".utf8)).force == true)
        #expect(try JobSubmissionBody.parse(Array("{\(base), \"force\": false}".utf8)).force == false)
        #expect(try JobSubmissionBody.parse(Array("{\(base), \"force\": null}".utf8)).force == false, "null: not given")
        for hostile in [#""yes""#, "1", "[true]", #"{"x": true}"#, String(repeating: "t", count: 100_000)] {
            #expect(throws: JobSubmissionBody.Problem.self, "force: \(hostile.prefix(20))") {
                try JobSubmissionBody.parse(Array("{\(base), \"force\": \(hostile)}".utf8))
            }
        }
    }
}
