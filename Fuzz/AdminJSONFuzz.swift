// libFuzzer target for the admin API's JSON body checks (AdminJSON, AdminBodies, JobSubmissionBody).
// Built by `scripts/fuzz.sh admin-json` with those sources and their invariants (Tests/EdgeTests/
// AdminBodyInvariants.swift, Tests/SchedulerTests/JobSubmissionBodyInvariants.swift).

@_cdecl("LLVMFuzzerTestOneInput")
public func adminJSONFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let violation = adminBodyInvariantViolation(bytes) { preconditionFailure(violation) }
    if let violation = jobSubmissionBodyInvariantViolation(bytes) { preconditionFailure(violation) }
    return 0
}
