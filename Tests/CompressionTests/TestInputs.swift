// Deterministic test inputs: the same bytes on every run, so a failure can be reproduced.
import Compression
import WharfTestSupport

enum TestInputs {
    static let tinyText = Array("Hello, Wharf! Hello, Wharf! Compressed at publish, served as br, zstd or gzip.\n".utf8)

    /// Incompressible bytes.
    static func random(count: Int, seed: UInt64) -> [UInt8] {
        var generator = SeededRandom(seed: seed)
        var bytes = [UInt8](repeating: 0, count: count)
        var index = 0
        while index < count {
            var word = generator.next()
            for _ in 0..<8 where index < count {
                bytes[index] = UInt8(truncatingIfNeeded: word)
                word >>= 8
                index += 1
            }
        }
        return bytes
    }

    /// JavaScript-like text: identifiers, keywords and numbers drawn from a skewed vocabulary,
    /// so it compresses the way bundled web code does (about 3–5× for gzip).
    static func scriptText(count: Int, seed: UInt64) -> [UInt8] {
        let words = [
            "function", "return", "const", "let", "this", "=>", "{", "}", "(", ")", ";", "\n", "  ",
            "export", "import", "from", "if", "else", "null", "undefined", "props", "state", "render",
            "useEffect", "document", "window", "addEventListener", "\"click\"", "value", "length",
            "map", "filter", "reduce", "Object.keys", "JSON.stringify", "await", "async", "new Promise",
            "className", "children", "key", "id", "data", "items", "index", "true", "false", "0", "1",
        ]
        var generator = SeededRandom(seed: seed)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count + 32)
        while bytes.count < count {
            let roll = generator.next()
            // Skew towards the first words, like real code.
            let pick = Int(roll % UInt64(words.count)) * Int((roll >> 32) % 4 + 1) / 4
            bytes.append(contentsOf: words[pick].utf8)
            if roll >> 60 == 0 { bytes.append(contentsOf: "v\(roll >> 40 & 0xFFF)".utf8) }
            bytes.append(0x20)
        }
        return Array(bytes.prefix(count))
    }

    /// A mix of script text, random runs and long repeats, in 64 KiB sections.
    static func mixed(count: Int, seed: UInt64) -> [UInt8] {
        var generator = SeededRandom(seed: seed)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        let section = 64 * 1024
        while bytes.count < count {
            switch generator.next() % 4 {
            case 0: bytes += random(count: section, seed: generator.next())
            case 1: bytes += [UInt8](repeating: UInt8(truncatingIfNeeded: generator.next()), count: section)
            default: bytes += scriptText(count: section, seed: generator.next())
            }
        }
        return Array(bytes.prefix(count))
    }

    /// The same 100-byte line over and over.
    static func repetitive(count: Int) -> [UInt8] {
        let line = Array("<div class=\"card\"><span>Wharf edge: the same line, again and again.</span></div>\n".utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count + line.count)
        while bytes.count < count { bytes += line }
        return Array(bytes.prefix(count))
    }

    // Shared large inputs, built once per test process.
    static let mixed10MB = mixed(count: 10 * 1024 * 1024, seed: 1)
    static let random1MB = random(count: 1024 * 1024, seed: 2)
    static let repetitive10MB = repetitive(count: 10 * 1024 * 1024)
}

/// Feeds `input` to a streaming coder in chunks of `chunkSize` and returns everything it produced.
func stream(_ input: [UInt8], chunkSize: Int, update: ([UInt8]) throws -> [UInt8], finish: () throws -> [UInt8]) throws -> [UInt8] {
    var output: [UInt8] = []
    var offset = 0
    while offset < input.count {
        let end = min(offset + chunkSize, input.count)
        output += try update(Array(input[offset..<end]))
        offset = end
    }
    output += try finish()
    return output
}

func streamEncode(_ codec: Codec, _ input: [UInt8], chunkSize: Int) throws -> [UInt8] {
    let encoder = try codec.makeEncoder()
    return try stream(input, chunkSize: chunkSize, update: encoder.update, finish: encoder.finish)
}

func streamDecode(_ codec: Codec, _ input: [UInt8], chunkSize: Int, maxOutputBytes: Int) throws -> [UInt8] {
    let decoder = try codec.makeDecoder(maxOutputBytes: maxOutputBytes)
    return try stream(input, chunkSize: chunkSize, update: decoder.update, finish: decoder.finish)
}

/// Runs a closure and returns the `CodecError` it threw, or nil if it returned normally.
func codecError(_ body: () throws -> Any) -> CodecError? {
    do {
        _ = try body()
        return nil
    } catch let error as CodecError {
        return error
    } catch {
        return .corrupt("unexpected error type: \(error)")
    }
}
