import HTTP2
import UVLoop

/// A response body for one HTTP/2 stream, handed to nghttp2 a frame at a time as flow control
/// allows: in-memory bytes (cache entries, generated pages, multipart part heads) are copied
/// from their slices; file ranges (bodies too large for the cache) are read straight into the
/// frame from the page cache with a non-blocking read, and only when the bytes are not in memory
/// from the thread pool, a chunk at a time, after which the stream is resumed. Nothing holds a
/// whole large body. Loop thread only.
final class HTTP2ResponseBody: HTTP2BodySource {
    enum Segment {
        case bytes(ArraySlice<UInt8>)
        case file(OpenFile, offset: Int64, length: Int64)
    }

    /// Bytes read per thread-pool read when the page cache misses.
    static let coldChunkBytes = 128 * 1024

    private let segments: [Segment]
    private var index = 0
    /// Bytes of the current segment already handed out.
    private var position: Int64 = 0
    /// A thread-pool read's result for the current file segment, at `position`.
    private var chunk: [UInt8] = []
    private var chunkUsed = 0
    private var readInFlight = false
    private var failed = false
    /// The loop for thread-pool reads, and the connection told when one finished (it resumes the
    /// stream and flushes): only for bodies with a file range, so an in-memory body (the common
    /// small response) costs no weak reference.
    private let loop: EventLoop?
    private let stream: Int32
    private weak var connection: HTTP2Connection?
    /// Body bytes handed to the session so far.
    private(set) var sent = 0

    init(_ segments: [Segment], stream: Int32, connection: HTTP2Connection) {
        let hasEmpty = segments.contains {
            switch $0 {
            case .bytes(let b): return b.isEmpty
            case .file(_, _, let length): return length <= 0
            }
        }
        self.segments =
            !hasEmpty
            ? segments
            : segments.filter {
                switch $0 {
                case .bytes(let b): return !b.isEmpty
                case .file(_, _, let length): return length > 0
                }
            }
        self.stream = stream
        let readsFiles = self.segments.contains { if case .file = $0 { true } else { false } }
        self.loop = readsFiles ? connection.transport.loop : nil
        if readsFiles { self.connection = connection }
    }

    var isEmpty: Bool { segments.isEmpty }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> HTTP2BodyRead {
        if failed { return .failed }
        var written = 0
        while written < buffer.count && index < segments.count {
            let room = buffer.count - written
            switch segments[index] {
            case .bytes(let bytes):
                let start = bytes.startIndex + Int(position)
                let count = min(room, bytes.endIndex - start)
                bytes.withUnsafeBytes { source in
                    (buffer.baseAddress! + written).copyMemory(from: source.baseAddress! + Int(position), byteCount: count)
                }
                advance(count, segmentLength: Int64(bytes.count))
                written += count
            case .file(let file, let offset, let length):
                let wanted = Int(min(Int64(room), length - position))
                if chunkUsed < chunk.count {
                    let count = min(wanted, chunk.count - chunkUsed)
                    chunk.withUnsafeBytes { source in
                        (buffer.baseAddress! + written).copyMemory(from: source.baseAddress! + chunkUsed, byteCount: count)
                    }
                    chunkUsed += count
                    if chunkUsed == chunk.count {
                        chunk = []
                        chunkUsed = 0
                    }
                    advance(count, segmentLength: length)
                    written += count
                    continue
                }
                let target = UnsafeMutableRawBufferPointer(start: buffer.baseAddress! + written, count: wanted)
                switch CachedFileRead.read(descriptor: file.descriptor, into: target, offset: offset + position) {
                case .read(let count):
                    advance(count, segmentLength: length)
                    written += count
                case .wouldBlock:
                    if written > 0 { return .bytes(written, end: false) }
                    startColdRead(file, offset: offset + position, count: Int(min(Int64(HTTP2ResponseBody.coldChunkBytes), length - position)))
                    return .wait
                case .failed:
                    failed = true
                    return .failed
                }
            }
        }
        sent += written
        return .bytes(written, end: index == segments.count)
    }

    /// Cached bytes go out without a copy into nghttp2: the frame's bytes are appended to the
    /// output straight from the cache entry (`append`).
    func inMemoryRun(max: Int) -> (count: Int, end: Bool)? {
        guard !failed, index < segments.count, case .bytes(let bytes) = segments[index] else { return nil }
        let count = min(max, bytes.count - Int(position))
        let end = index == segments.count - 1 && Int(position) + count == bytes.count
        return (count, end)
    }

    func append(_ count: Int, to output: inout [UInt8]) {
        guard index < segments.count, case .bytes(let bytes) = segments[index] else { return }
        let start = bytes.startIndex + Int(position)
        output.append(contentsOf: bytes[start..<(start + count)])
        advance(count, segmentLength: Int64(bytes.count))
        sent += count
    }

    private func advance(_ count: Int, segmentLength: Int64) {
        position += Int64(count)
        if position >= segmentLength {
            index += 1
            position = 0
        }
    }

    private func startColdRead(_ file: OpenFile, offset: Int64, count: Int) {
        guard !readInFlight, let loop else { return }
        readInFlight = true
        let bound = LoopBound(self)
        let descriptor = file.descriptor
        loop.runBlocking(
            { () -> [UInt8]? in
                withExtendedLifetime(file) { CachedFileRead.readBlocking(descriptor: descriptor, count: count, offset: offset) }
            },
            completion: { result in
                let body = bound.value
                body.readInFlight = false
                switch result {
                case .success(let bytes?):
                    body.chunk = bytes
                    body.chunkUsed = 0
                default:
                    body.failed = true
                }
                body.connection?.bodyReadable(body.stream)
            })
    }
}
