import Compression
import Foundation
import Glibc
import Synchronization

/// Makes the br, zstd and gzip variants of compressible blobs at publish time, once, so the
/// edge never compresses per request. Every (blob, codec) pair is an independent job; jobs run
/// on all cores (or `compressionThreads`). A variant is kept only if it saves at least
/// `minVariantSavings` of the original; kept variants are blobs themselves, inline or as files
/// by the same threshold. Windows stay browser-decodable: zstd ≤ 8 MiB (RFC 9659), brotli ≤ 16 MiB.
struct VariantBuilder {
    let options: StoreOptions
    let blobFiles: BlobFiles
    let progress: (@Sendable (PublishProgress) -> Void)?

    struct Result {
        var variants: [IngestedVariant] = []
        var createdFiles: [String] = []
    }

    /// The codecs the options describe, in the store's preference order.
    static func codecs(for options: StoreOptions) -> [Codec] {
        [
            .brotli(quality: options.brotliQuality, windowBits: options.brotliWindowBits),
            // nil: the codec's browser-safe default (≤ 2^23), chosen by input size like `zstd -19`.
            .zstd(level: options.zstdLevel, windowLog: options.zstdWindowLog >= 23 ? nil : options.zstdWindowLog),
            .gzip(level: options.gzipLevel),
        ]
    }

    private struct Job: Sendable {
        var blob: IngestedBlob
        var codec: Codec
    }

    private struct Outcome: Sendable {
        var variant: IngestedVariant?
        var createdFile: String?
    }

    func build(for blobs: [IngestedBlob]) throws -> Result {
        let codecs = Self.codecs(for: options)
        let worthTrying = blobs.filter { !Self.looksIncompressible($0) }
        let jobs = worthTrying.flatMap { blob in codecs.map { Job(blob: blob, codec: $0) } }
        guard !jobs.isEmpty else { return Result() }
        let progress = self.progress
        let builder = self
        let (finished, failure) = ParallelJobs.run(
            count: jobs.count, threads: options.compressionThreads,
            failure: { index, error in StoreError.from(error, path: jobs[index].blob.readPath) },
            { index in try builder.run(jobs[index]) },
            finished: { done in progress?(PublishProgress(phase: .compressing, done: done, total: jobs.count)) })
        var result = Result()
        result.createdFiles = finished.values.compactMap(\.createdFile)
        if let error = failure {
            for hash in result.createdFiles { blobFiles.remove(hash: hash) }
            throw error
        }
        result.variants = (0..<jobs.count).compactMap { finished[$0]?.variant }
        return result
    }

    /// Large blobs whose samples a fast zstd pass cannot shrink by even 1% (random-looking data:
    /// packed wasm, media with a "compressible" extension) skip the slow codecs entirely.
    static func looksIncompressible(_ blob: IngestedBlob) -> Bool {
        let sampleSize = 64 * 1024
        guard blob.size > 4 * Int64(sampleSize), blob.inlineBytes == nil else { return false }
        let fd = Glibc.open(blob.readPath, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { Glibc.close(fd) }
        var sample: [UInt8] = []
        for fraction in [0.0, 0.5, 0.9] {
            var chunk = [UInt8](repeating: 0, count: sampleSize)
            let offset = off_t(Double(blob.size - Int64(sampleSize)) * fraction)
            let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, sampleSize, offset) }
            guard n == sampleSize else { return false }
            sample += chunk
        }
        guard let encoded = try? Codec.zstd(level: 3).encode(sample) else { return false }
        return Double(encoded.count) > Double(sample.count) * 0.99
    }

    /// Compresses one blob with one codec; stores the result if it is worth keeping.
    private func run(_ job: Job) throws -> Outcome {
        let original = job.blob.size
        let limit = Int64((Double(original) * (1 - options.minVariantSavings)).rounded(.down))
        let encoded: [UInt8]
        do {
            if original <= options.streamingCompressionThreshold {
                let input = try job.blob.inlineBytes ?? FileSystem.readFile(job.blob.readPath)
                encoded = try job.codec.encode(input)
            } else {
                return try streamLargeBlob(job, limit: limit)
            }
        } catch let error as CodecError {
            throw StoreError.io(path: job.blob.readPath, reason: "\(job.codec.token) compression failed: \(error)")
        }
        guard Int64(encoded.count) <= limit else { return Outcome() }
        let hash = ContentHash.of(encoded)
        if encoded.count <= options.inlineThreshold {
            let blob = IngestedBlob(hash: hash, size: Int64(encoded.count), inlineBytes: encoded, readPath: "")
            return Outcome(variant: IngestedVariant(sourceHash: job.blob.hash, coding: job.codec.token, blob: blob))
        }
        let created = try blobFiles.write(encoded, hash: hash)
        let blob = IngestedBlob(hash: hash, size: Int64(encoded.count), inlineBytes: nil, readPath: blobFiles.path(for: hash))
        return Outcome(
            variant: IngestedVariant(sourceHash: job.blob.hash, coding: job.codec.token, blob: blob),
            createdFile: created ? hash : nil)
    }

    /// Streams a large blob file through the encoder into a temporary file, hashing the output.
    private func streamLargeBlob(_ job: Job, limit: Int64) throws -> Outcome {
        let temp = blobFiles.temporaryPath()
        let out = try FileSystem.open(temp, O_WRONLY | O_CREAT | O_EXCL, mode: 0o644)
        var hasher = ContentHash()
        var size: Int64 = 0
        do {
            let encoder = try job.codec.makeEncoder()
            func emit(_ bytes: [UInt8]) throws {
                guard !bytes.isEmpty else { return }
                size += Int64(bytes.count)
                try bytes.withUnsafeBytes { raw in
                    hasher.update(raw)
                    try FileSystem.writeAll(out, raw, path: temp)
                }
            }
            try StreamingFile.forEachChunk(job.blob.readPath) { chunk in
                try emit(encoder.update(Array(chunk)))
            }
            try emit(encoder.finish())
            try FileSystem.fsync(out, path: temp)
            FileSystem.close(out)
        } catch {
            FileSystem.close(out)
            FileSystem.unlink(temp)
            throw error
        }
        guard size <= limit else {
            FileSystem.unlink(temp)
            return Outcome()
        }
        let hash = hasher.finalizeHex()
        let created = try blobFiles.install(temporary: temp, hash: hash)
        let blob = IngestedBlob(hash: hash, size: size, inlineBytes: nil, readPath: blobFiles.path(for: hash))
        return Outcome(
            variant: IngestedVariant(sourceHash: job.blob.hash, coding: job.codec.token, blob: blob),
            createdFile: created ? hash : nil)
    }
}

extension VariantBuilder {
    /// Decodes a variant and compares it with its source; a problem description or nil.
    static func checkDecodes(store: Store, source: String, coding: String, variant: String) -> String? {
        guard let codec = Codec(token: coding) else { return "unknown coding \(coding)" }
        do {
            let original = try bytes(of: try store.body(hash: source))
            let encoded = try bytes(of: try store.body(hash: variant))
            let decoded = try codec.decode(encoded, maxOutputBytes: original.count)
            return decoded == original ? nil : "decodes to different bytes"
        } catch {
            return "does not decode: \(error)"
        }
    }

    private static func bytes(of body: BodySource) throws -> [UInt8] {
        switch body {
        case .bytes(let bytes): return bytes
        case .file(let path, _, _): return try FileSystem.readFile(path)
        }
    }
}
