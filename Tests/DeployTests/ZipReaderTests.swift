import Foundation
import Testing
import WharfTestSupport

@testable import Deploy

/// `ZipReader` alone on zips made by Info-ZIP's `zip`: it reads back exactly the files put in, and
/// every truncation and thousands of seeded byte mutations of a valid zip end in the bytes put in
/// or a `DeployError` of 400, 413 or 415 — never a crash, a hang or a wrong file passed as good.
@Suite struct ZipReaderTests {
    static func makeZip(_ dir: TemporaryDirectory, piped: Bool) throws -> (zip: String, files: [String: [UInt8]]) {
        var files: [String: [UInt8]] = [
            "index.html": Array("<!doctype html><title>zip</title>\n".utf8),
            "assets/app.js": Array(String(repeating: "console.log('reader');\n", count: 300).utf8),
        ]
        var seed: UInt64 = 42
        files["assets/noise.bin"] = (0..<5000).map { _ in
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: seed >> 33)
        }
        for (path, bytes) in files {
            let url = URL(fileURLWithPath: dir.path + "/site/" + path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(bytes).write(to: url)
        }
        let zip = dir.path + (piped ? "/piped.zip" : "/file.zip")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.currentDirectoryURL = URL(fileURLWithPath: dir.path + "/site")
        p.arguments = ["-c", piped ? "zip -q -r - . | cat > \"$1\"" : "zip -q -r \"$1\" .", "sh", zip]
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        return (zip, files)
    }

    /// Every file of the zip at `path`, or the DeployError status that refused it.
    static func read(_ path: String) -> Result<[String: [UInt8]], DeployError> {
        do {
            let source = try ArchiveSource(path: path, limit: 1 << 20)
            var reader = ZipReader(source: source)
            var out: [String: [UInt8]] = [:]
            while let entry = try reader.nextEntry() {
                var bytes: [UInt8] = []
                while true {
                    let chunk = try reader.readContent(upTo: 777)
                    if chunk.isEmpty { break }
                    bytes += chunk
                    if bytes.count > 1 << 20 { throw DeployError(413, "too much") }
                }
                out[entry.path] = bytes
            }
            return .success(out)
        } catch let error as DeployError {
            return .failure(error)
        } catch {
            return .failure(DeployError(-1, "\(error)"))
        }
    }

    @Test(arguments: [false, true])
    func readsBackWhatZipWrote(piped: Bool) throws {
        let dir = try TemporaryDirectory(prefix: "wharf-zip-reader")
        defer { dir.remove() }
        let (zip, files) = try Self.makeZip(dir, piped: piped)
        let read = try Self.read(zip).get()
        #expect(read == files)
    }

    @Test(arguments: [false, true])
    func truncationsAndMutationsAreRefusedCleanly(piped: Bool) throws {
        let dir = try TemporaryDirectory(prefix: "wharf-zip-reader-fuzz")
        defer { dir.remove() }
        let (zip, files) = try Self.makeZip(dir, piped: piped)
        let good = [UInt8](try Data(contentsOf: URL(fileURLWithPath: zip)))
        let target = dir.path + "/mutated.zip"
        func check(_ bytes: [UInt8], _ label: String) throws -> Bool {
            try Data(bytes).write(to: URL(fileURLWithPath: target))
            switch Self.read(target) {
            case .success(let read):
                // Accepted only if every file is byte for byte what was zipped (a flipped bit in
                // a timestamp or an unused field may pass; content never changes silently).
                #expect(read.allSatisfy { files[$0.key] == $0.value }, "\(label): accepted with different content")
                return true
            case .failure(let error):
                #expect([400, 413, 415].contains(error.status), "\(label): \(error.status) \(error.message)")
                return false
            }
        }
        for length in stride(from: 0, to: good.count, by: max(1, good.count / 400)) {
            #expect(try !check(Array(good[..<length]), "truncated at \(length)"), "a truncated zip must not be accepted")
        }
        var seed: UInt64 = 7
        func next() -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: seed >> 33)
        }
        var accepted = 0
        for round in 0..<1500 {
            var bytes = good
            for _ in 0..<(1 + next() % 3) {
                bytes[next() % bytes.count] ^= UInt8(1 << (next() % 8))
            }
            if try check(bytes, "mutation \(round)") { accepted += 1 }
        }
        // Most single-bit flips land in checked bytes (content, CRC-32, sizes, names, signatures).
        #expect(accepted < 1000, "\(accepted) of 1500 mutations accepted")
    }
}
