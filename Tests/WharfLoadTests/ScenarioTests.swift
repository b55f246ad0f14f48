import Foundation
import Testing

@testable import WharfLoad

private func scenario(_ json: String) throws -> Scenario { try Scenario.decode(Data(json.utf8)) }

private let minimal = """
    {"name": "t", "mix": {"files": [{"role": "entry", "weight": 1}], "encodings": {"br": 1}},
     "open": {"connections": 4, "rate": 100, "duration_s": 2}}
    """

@Test func aMinimalScenarioParsesWithSnakeCaseKeys() throws {
    let s = try scenario(
        """
        {"name": "x", "seed": 9, "verify_fraction": 0.5, "request_timeout_s": 3, "fixture": "ignored by the generator",
         "mix": {"apps": ["app*"], "app_exponent": 1.2, "files": [{"role": "js", "weight": 2}], "encodings": {"gzip": 1, "identity": 1},
                 "revalidate_fraction": 0.3, "range_fraction": 0.1, "range_bytes": 4096},
         "saturation": {"connections": 8, "duration_s": 1.5},
         "open": {"connections": 4, "rate_fraction_of_nginx": 0.5, "duration_s": 2, "max_requests": 10},
         "background": {"idle_connections": 100, "slowloris": 5, "slowloris_interval_ms": 500}}
        """)
    #expect(s.name == "x")
    #expect(s.seed == 9)
    #expect(s.mix.appExponent == 1.2)
    #expect(s.mix.rangeBytes == 4096)
    #expect(s.saturation?.durationS == 1.5)
    #expect(s.open?.rateFractionOfNginx == 0.5)
    #expect(s.open?.maxRequests == 10)
    #expect(s.background?.slowlorisIntervalMs == 500)
    #expect(try scenario(minimal).open?.rate == 100)
}

@Test(arguments: [
    ("\"name\": \"t\"", "\"name\": \"\"", "name is empty"),
    ("\"connections\": 4", "\"connections\": 0", "connections"),
    ("\"rate\": 100", "\"rate\": -5", "rate"),
    ("\"duration_s\": 2", "\"duration_s\": 0", "duration_s"),
    ("\"weight\": 1", "\"weight\": -1", "weights"),
    ("{\"br\": 1}", "{\"deflate\": 1}", "unknown encoding"),
    ("{\"br\": 1}", "{\"br\": 0}", "all 0"),
    ("\"encodings\"", "\"revalidate_fraction\": 2, \"encodings\"", "fractions"),
    ("\"encodings\"", "\"revalidate_fraction\": 0.6, \"range_fraction\": 0.6, \"encodings\"", "exceed 1"),
    ("\"name\": \"t\",", "", "name"),
    ("{\"name\"", "[{\"name\"", "JSON"),
])
func badScenariosAreRejectedWithAReason(find: String, replace: String, reason: String) {
    let json = minimal.replacingOccurrences(of: find, with: replace)
    do {
        _ = try scenario(json)
        Issue.record("accepted: \(json)")
    } catch {
        #expect("\(error)".contains(reason), "\(error)")
    }
}

@Test func everyShippedScenarioIsValid() throws {
    let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../loadtests/scenarios").standardized
    let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".json") }
    #expect(files.count >= 8)
    for file in files {
        let path = directory.appendingPathComponent(file).path
        // A scenario with its own client (h2load over HTTP/2) names the script that runs it.
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
        if object?["kind"] as? String == "script" {
            let script = try #require(object?["script"] as? String, "\(file)")
            let root = directory.deletingLastPathComponent().deletingLastPathComponent()
            #expect(FileManager.default.isExecutableFile(atPath: root.appendingPathComponent(script).path), "\(file): \(script)")
            #expect(object?["name"] as? String == String(file.dropLast(5)))
            continue
        }
        let s = try Scenario.load(path: path)
        #expect(s.name + ".json" == file)
        #expect(s.open != nil || s.saturation != nil)
    }
}
