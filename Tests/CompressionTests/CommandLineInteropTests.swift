import Compression
import Testing

/// Our streams against the reference tools, both ways, on the same files.
@Suite("Command-line interop")
struct CommandLineInteropTests {
    struct Tool: Sendable, CustomStringConvertible {
        let codec: Codec
        let compress: String
        let decompress: String
        /// The CLI command our sizes are compared with (gzip with -n: no file name in the header, like ours).
        let compareWith: String
        /// How much larger than the CLI's output ours may be (brotli and zstd 3%, gzip 1%).
        let sizeTolerance: Double
        var description: String { codec.token }
    }

    static let tools: [Tool] = [
        Tool(
            codec: .brotli(), compress: "brotli -q 11 -c IN > OUT", decompress: "brotli -d -c IN > OUT",
            compareWith: "brotli -q 11 -c IN > OUT", sizeTolerance: 0.03),
        Tool(
            codec: .zstd(), compress: "zstd -q -19 -c IN > OUT", decompress: "zstd -q -d -c IN > OUT",
            compareWith: "zstd -q -19 -c IN > OUT", sizeTolerance: 0.03),
        Tool(
            codec: .gzip(), compress: "gzip -9 -c IN > OUT", decompress: "gzip -d -c IN > OUT",
            compareWith: "gzip -9 -n -c IN > OUT", sizeTolerance: 0.01),
    ]

    static let inputs: [(String, [UInt8])] = [
        ("empty", []),
        ("tiny text", TestInputs.tinyText),
        ("128 KB script", script),
        ("200 KB mixed", mixed),
    ]
    static let script = TestInputs.scriptText(count: 128 * 1024, seed: 3)
    static let mixed = TestInputs.mixed(count: 200_000, seed: 50)

    @Test("we decode what the CLI compresses", arguments: tools)
    func decodeCLIOutput(tool: Tool) throws {
        let cli = try CommandLineTool()
        defer { cli.cleanUp() }
        for (name, input) in Self.inputs {
            let compressed = try cli.run(tool.compress, input: input)
            #expect(try tool.codec.decode(compressed, maxOutputBytes: input.count) == input, "\(tool) \(name)")
        }
    }

    @Test("the CLI decodes what we compress, one-shot and streamed", arguments: tools)
    func cliDecodesOurs(tool: Tool) throws {
        let cli = try CommandLineTool()
        defer { cli.cleanUp() }
        for (name, input) in Self.inputs {
            #expect(try cli.run(tool.decompress, input: try tool.codec.encode(input)) == input, "\(tool) \(name)")
        }
        let streamed = try streamEncode(tool.codec, Self.mixed, chunkSize: 10_000)
        #expect(try cli.run(tool.decompress, input: streamed) == Self.mixed, "\(tool) streamed")
    }

    @Test("our default output is within 3% (br, zstd) or 1% (gzip) of the CLI's", arguments: tools)
    func sizeMatchesCLI(tool: Tool) throws {
        let cli = try CommandLineTool()
        defer { cli.cleanUp() }
        let input = Self.script
        let ours = try tool.codec.encode(input).count
        let theirs = try cli.run(tool.compareWith, input: input).count
        #expect(Double(ours) <= Double(theirs) * (1 + tool.sizeTolerance), "\(tool): ours \(ours), CLI \(theirs)")
    }
}
