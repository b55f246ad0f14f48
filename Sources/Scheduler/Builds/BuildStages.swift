/// Tracks `::stage NAME` markers: each stage lasts from its marker to the next one (or the end of the
/// build). A name seen twice adds up. Time before the first marker belongs to no stage.
public struct BuildStages: Sendable, Equatable {
    private(set) var durations: [String: Double] = [:]
    private(set) var current: (name: String, since: Double)?

    public init() {}

    /// The stage name in a stdout line of the form `::stage NAME`, or nil. Names are 1-64 characters
    /// of A-Z a-z 0-9 . _ - (anything else is an ordinary line).
    static func marker(in line: Substring) -> String? {
        guard line.hasPrefix("::stage ") else { return nil }
        let name = line.dropFirst("::stage ".count).trimmingSpaces
        guard (1...64).contains(name.utf8.count), name.utf8.allSatisfy(Self.isNameByte) else { return nil }
        return String(name)
    }

    /// Starts stage `name` at `time` (seconds on any monotonic scale), ending the current one.
    mutating func begin(_ name: String, at time: Double) {
        end(at: time)
        current = (name, time)
    }

    /// Ends the current stage at `time`.
    mutating func end(at time: Double) {
        if let current { durations[current.name, default: 0] += max(0, time - current.since) }
        current = nil
    }

    private static func isNameByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default: false
        }
    }

    public static func == (a: BuildStages, b: BuildStages) -> Bool {
        a.durations == b.durations && a.current?.name == b.current?.name && a.current?.since == b.current?.since
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while let first = s.first, first == " " || first == "\t" || first == "\r" { s = s.dropFirst() }
        while let last = s.last, last == " " || last == "\t" || last == "\r" { s = s.dropLast() }
        return s
    }
}
