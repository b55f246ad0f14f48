/// Builds a Prometheus text exposition (format 0.0.4): one `# HELP` and `# TYPE` line per
/// metric family, then its samples. Names and label names are checked against the format's
/// grammar, label values and help text escaped, so whatever a module adds stays parseable.
/// A family name used twice keeps only its first occurrence (duplicates would break scrapers).
public struct PrometheusText: Sendable {
    /// The `Content-Type` of the exposition.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public enum Kind: String, Sendable {
        case counter, gauge, histogram, untyped
    }

    /// One histogram bucket: observations ≤ `upperBound`, cumulative.
    public struct Bucket: Sendable {
        public var upperBound: Double
        public var cumulativeCount: Int
        public init(upperBound: Double, cumulativeCount: Int) {
            self.upperBound = upperBound
            self.cumulativeCount = cumulativeCount
        }
    }

    public private(set) var text = ""
    private var families = Set<String>()

    public init() {}

    /// A counter without labels (name should end in `_total`).
    public mutating func counter(_ name: String, help: String, _ value: Int) {
        family(name, .counter, help) { out in out.sample(name, [], Double(value)) }
    }

    /// A counter with one label, one sample per (label value, count).
    public mutating func counter(_ name: String, help: String, label: String, _ values: [(String, Int)]) {
        family(name, .counter, help) { out in
            for (value, count) in values { out.sample(name, [(label, value)], Double(count)) }
        }
    }

    /// A gauge without labels.
    public mutating func gauge(_ name: String, help: String, _ value: Double) {
        family(name, .gauge, help) { out in out.sample(name, [], value) }
    }

    /// A gauge with one label.
    public mutating func gauge(_ name: String, help: String, label: String, _ values: [(String, Double)]) {
        family(name, .gauge, help) { out in
            for (value, v) in values { out.sample(name, [(label, value)], v) }
        }
    }

    /// A histogram: cumulative buckets in increasing bound order (`+Inf` is added), sum, count.
    public mutating func histogram(
        _ name: String, help: String, buckets: [Bucket], sum: Double, count: Int,
        labels: [(String, String)] = []
    ) {
        family(name, .histogram, help) { out in
            for bucket in buckets where bucket.upperBound.isFinite {
                out.sample(name + "_bucket", labels + [("le", PrometheusText.format(bucket.upperBound))], Double(bucket.cumulativeCount))
            }
            out.sample(name + "_bucket", labels + [("le", "+Inf")], Double(count))
            out.sample(name + "_sum", labels, sum)
            out.sample(name + "_count", labels, Double(count))
        }
    }

    /// A family with arbitrary samples: `emit` calls `sample` for each line.
    public mutating func family(_ name: String, _ kind: Kind, _ help: String, _ emit: (inout Samples) -> Void) {
        guard PrometheusText.isValidMetricName(name), families.insert(name).inserted else { return }
        var samples = Samples()
        emit(&samples)
        text += "# HELP \(name) \(PrometheusText.escapeHelp(help))\n# TYPE \(name) \(kind.rawValue)\n"
        text += samples.lines
    }

    /// The sample lines of one family.
    public struct Samples: Sendable {
        var lines = ""

        /// `name{labels} value`; labels with an invalid name are dropped.
        public mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Double) {
            guard PrometheusText.isValidMetricName(name) else { return }
            lines += name
            let valid = labels.filter { PrometheusText.isValidLabelName($0.0) }
            if !valid.isEmpty {
                lines += "{"
                lines += valid.map { "\($0.0)=\"\(PrometheusText.escapeLabelValue($0.1))\"" }.joined(separator: ",")
                lines += "}"
            }
            lines += " " + PrometheusText.format(value) + "\n"
        }
    }

    /// Integers without a fraction; otherwise Swift's shortest round-trip form; `+Inf`, `-Inf`, `NaN`.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    static func isValidMetricName(_ name: String) -> Bool {
        guard let first = name.utf8.first, isLetter(first) || first == 0x5F || first == 0x3A else { return false }
        return name.utf8.allSatisfy { isLetter($0) || isDigit($0) || $0 == 0x5F || $0 == 0x3A }
    }

    static func isValidLabelName(_ name: String) -> Bool {
        guard let first = name.utf8.first, isLetter(first) || first == 0x5F else { return false }
        return !name.hasPrefix("__") && name.utf8.allSatisfy { isLetter($0) || isDigit($0) || $0 == 0x5F }
    }

    private static func isLetter(_ b: UInt8) -> Bool { (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A }
    private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    static func escapeLabelValue(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    static func escapeHelp(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}
