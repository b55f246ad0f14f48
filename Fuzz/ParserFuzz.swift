// libFuzzer target for the HTTPCore request parser. Not a SwiftPM target: `scripts/fuzz.sh`
// compiles it together with Sources/HTTPCore/*.swift (one module, so internals are visible).
//
// Beyond "no crash", every input checks invariants:
// - feeding the input whole, byte by byte, and in uneven pieces (with and without compacting
//   the buffer) gives the same heads, body bytes and error;
// - consumed bytes never exceed the input, body bytes match the declared framing;
// - every head's fields are valid tokens and trimmed values; lookups agree with iteration;
// - any target RequestTarget accepts normalises to a path that cannot leave the root.

struct FuzzMessage: Equatable {
    var method: HTTPMethod
    var target: [UInt8]
    var version: HTTPVersion
    var keepAlive: Bool
    var framing: BodyFraming
    var fields: [[UInt8]]
    var body: [UInt8] = []
    var complete = false
}

struct FuzzOutcome: Equatable {
    var messages: [FuzzMessage] = []
    var error: ParseError?
    var unconsumed = 0
}

func feed(_ bytes: [UInt8], cuts: [Int], limits: ParserLimits, compact: Bool) -> FuzzOutcome {
    var parser = RequestParser(limits: limits)
    var outcome = FuzzOutcome()
    var buffer: [UInt8] = []
    var index = 0
    var previous = 0
    for cut in cuts + [bytes.count] where cut >= previous {
        buffer += bytes[previous..<cut]
        previous = cut
        do {
            while let event = try parser.next(in: buffer, at: &index) {
                precondition(index <= buffer.count, "index past the buffer")
                switch event {
                case .head(let head):
                    check(head)
                    var fields: [[UInt8]] = []
                    for field in head.fields { fields.append(Array(field.name) + [0x3A] + Array(field.value)) }
                    outcome.messages.append(
                        FuzzMessage(
                            method: head.method, target: Array(head.target), version: head.version,
                            keepAlive: head.keepAlive, framing: head.body, fields: fields))
                case .body(let body):
                    precondition(!body.isEmpty, "empty body event")
                    outcome.messages[outcome.messages.count - 1].body += body
                case .end:
                    let last = outcome.messages[outcome.messages.count - 1]
                    if case .contentLength(let n) = last.framing { precondition(last.body.count == n, "body length mismatch") }
                    if case .none = last.framing { precondition(last.body.isEmpty, "body without framing") }
                    outcome.messages[outcome.messages.count - 1].complete = true
                }
            }
        } catch {
            outcome.error = error
            precondition([400, 413, 414, 431, 501, 505].contains(error.status), "unexpected status")
            break
        }
        if compact {
            buffer.removeFirst(index)
            index = 0
        }
    }
    outcome.unconsumed = outcome.error == nil ? buffer.count - index : 0
    return outcome
}

func check(_ head: RequestHead) {
    precondition(!head.target.isEmpty, "empty target")
    precondition(head.version.major == 1, "non-1.x version")
    for field in head.fields {
        precondition(!field.name.isEmpty && field.name.allSatisfy(ByteClass.isTchar), "bad field name")
        precondition(field.value.allSatisfy(ByteClass.isValueByte), "bad field value byte")
        precondition(field.value.first.map { !ByteClass.isBlank($0) } ?? true, "untrimmed value")
        precondition(field.value.last.map { !ByteClass.isBlank($0) } ?? true, "untrimmed value")
        if let known = field.known {
            precondition(head.value(of: known) != nil, "known field not found")
            precondition(String(decoding: field.name, as: UTF8.self).lowercased() == known.name, "wrong known name")
        }
        let name = String(decoding: field.name, as: UTF8.self)
        precondition(head.value(ofName: name) != nil, "field not found by name")
    }
    if let target = try? RequestTarget.parse(head.target, method: head.method), target.form == .origin || target.form == .absolute {
        let segments = target.path.split(separator: "/", omittingEmptySubsequences: false)
        precondition(target.path.hasPrefix("/"), "relative path")
        precondition(!segments.contains("..") && !segments.contains("."), "dot segment survived")
        precondition(!target.path.contains("\\") && !target.path.contains("\0"), "backslash or NUL survived")
    }
}

let smallLimits = ParserLimits(
    maxRequestLineBytes: 48, maxHeaderBytes: 160, maxFieldCount: 4, maxBodyBytes: 40,
    maxChunkLineBytes: 16, maxTrailerBytes: 32, maxLeadingEmptyLines: 1)

@_cdecl("LLVMFuzzerTestOneInput")
public func parserFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    for limits in [ParserLimits.default, smallLimits] {
        let whole = feed(bytes, cuts: [], limits: limits, compact: true)
        precondition(whole.unconsumed <= bytes.count)
        // Byte by byte for short inputs; otherwise uneven pieces derived from the input itself.
        var cuts: [Int] = []
        if size <= 300 {
            cuts = Array(0...size)
        } else {
            var position = 0
            var k = 0
            while position < size {
                cuts.append(position)
                position += 1 + Int(bytes[k % size] % 61)
                k += 1
            }
        }
        let pieces = feed(bytes, cuts: cuts, limits: limits, compact: true)
        precondition(pieces == whole, "split feeding disagrees with whole feeding")
        let carried = feed(bytes, cuts: cuts.filter { $0 % 3 == 0 }, limits: limits, compact: false)
        precondition(carried == whole, "feeding without compaction disagrees with whole feeding")
    }
    return 0
}
