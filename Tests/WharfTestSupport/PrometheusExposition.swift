import Foundation

/// Prometheus exposition text read by an independent parser: the `prometheus_client` Python
/// package (`make deps` pip-installs it), so a test checks `/_wharf/metrics` the way a scraper
/// would, not with a parser of our own. Histograms are also checked: buckets in order, cumulative,
/// ending at `+Inf` equal to `_count`.
public enum PrometheusExposition {
    public struct Sample: Decodable, Equatable, Sendable {
        public var name: String
        public var labels: [String: String]
        public var value: Double
    }

    public struct Family: Decodable, Sendable {
        public var name: String
        public var type: String
        public var samples: [Sample]
    }

    /// The parser refused the text (its message), or could not run.
    public struct Refused: Error, CustomStringConvertible {
        public var description: String
    }

    static let script = """
        import json, math, sys
        from prometheus_client.parser import text_string_to_metric_families
        out = []
        for f in text_string_to_metric_families(sys.stdin.read()):
            if f.type == "histogram":
                series = {}
                for s in f.samples:
                    key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
                    series.setdefault(key, {"buckets": [], "count": None})
                    if s.name.endswith("_bucket"):
                        series[key]["buckets"].append((float(s.labels["le"]), s.value))
                    elif s.name.endswith("_count"):
                        series[key]["count"] = s.value
                for key, h in series.items():
                    bounds = [b for b, _ in h["buckets"]]
                    counts = [c for _, c in h["buckets"]]
                    assert bounds == sorted(bounds) and math.isinf(bounds[-1]), ("buckets out of order", f.name, key)
                    assert counts == sorted(counts), ("buckets not cumulative", f.name, key)
                    assert counts[-1] == h["count"], ("+Inf bucket differs from _count", f.name, key)
            out.append({"name": f.name, "type": f.type,
                        "samples": [{"name": s.name, "labels": dict(s.labels), "value": s.value} for s in f.samples]})
        print(json.dumps(out))
        """

    /// Every family in `text`, or `Refused` with the parser's own message.
    public static func parse(_ text: String) throws -> [Family] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Read both pipes while writing: a large text must not fill a pipe and block both sides.
        let collected = ReadBoth(output: output, errors: errors)
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let (out, err) = collected.wait()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Refused(
                description: "prometheus_client refused the text (is it installed? `pip install prometheus_client`): "
                    + String(decoding: err, as: UTF8.self))
        }
        return try JSONDecoder().decode([Family].self, from: out)
    }

    /// The value of the sample called `sample` with exactly `labels`.
    public static func value(_ families: [Family], _ sample: String, _ labels: [String: String] = [:]) -> Double? {
        families.flatMap(\.samples).first { $0.name == sample && $0.labels == labels }?.value
    }

    /// Drains a child's stdout and stderr on their own threads.
    private final class ReadBoth: @unchecked Sendable {
        private var out = Data(), err = Data()
        private let group = DispatchGroup()

        init(output: Pipe, errors: Pipe) {
            group.enter()
            group.enter()
            Thread { [self] in
                out = output.fileHandleForReading.readDataToEndOfFile()
                group.leave()
            }.start()
            Thread { [self] in
                err = errors.fileHandleForReading.readDataToEndOfFile()
                group.leave()
            }.start()
        }

        func wait() -> (Data, Data) {
            group.wait()
            return (out, err)
        }
    }
}
