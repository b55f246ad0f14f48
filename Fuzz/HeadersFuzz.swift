// libFuzzer target for HTTPCore's field parsers (Range and multipart framing, preconditions,
// Accept-Encoding, entity tags, dates). Built by `scripts/fuzz.sh headers` with the HTTPCore
// sources and Tests/HTTPCoreTests/Fixtures/HeaderInvariants.swift (the invariants it checks).

@_cdecl("LLVMFuzzerTestOneInput")
public func headersFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let violation = headerInvariantViolation(bytes) { preconditionFailure(violation) }
    return 0
}
