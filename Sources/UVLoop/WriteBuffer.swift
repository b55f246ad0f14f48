/// Bytes to send on a `TCPConnection`, referenced without copying.
///
/// A `WriteBuffer` retains its storage until the write that uses it completes, and libuv reads
/// straight from that storage. An `[UInt8]` or `ArraySlice<UInt8>` is not copied: the write
/// holds a reference to the array's buffer, so it cannot be mutated in place (a later mutation
/// by the caller copies the array first, as value semantics require). `SharedBytes` is the
/// choice for data that is sent many times (cached responses).
public struct WriteBuffer: Sendable {
    enum Storage: Sendable {
        case array([UInt8])
        case slice(ArraySlice<UInt8>)
        case shared(SharedBytes, offset: Int, count: Int)
    }

    let storage: Storage

    public init(_ bytes: [UInt8]) { storage = .array(bytes) }

    public init(_ bytes: ArraySlice<UInt8>) { storage = .slice(bytes) }

    /// A range of shared immutable bytes (the whole storage when `range` is nil).
    public init(_ bytes: SharedBytes, range: Range<Int>? = nil) {
        let range = range ?? 0..<bytes.count
        precondition(range.lowerBound >= 0 && range.upperBound <= bytes.count, "WriteBuffer range out of bounds")
        storage = .shared(bytes, offset: range.lowerBound, count: range.count)
    }

    /// The UTF-8 bytes of `string` (copied once).
    public init(string: String) { storage = .array(Array(string.utf8)) }

    public var count: Int {
        switch storage {
        case .array(let bytes): bytes.count
        case .slice(let bytes): bytes.count
        case .shared(_, _, let count): count
        }
    }

    /// The bytes, readable during `body` (for a layer that transforms them before the socket, such
    /// as TLS encryption).
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch storage {
        case .array(let bytes): try bytes.withUnsafeBytes(body)
        case .slice(let bytes): try bytes.withUnsafeBytes(body)
        case .shared(let bytes, let offset, let count): try body(UnsafeRawBufferPointer(start: bytes.base + offset, count: count))
        }
    }

    /// Address of the first byte. Valid while this value (which retains the storage) is alive;
    /// nil when empty.
    func unsafeBaseAddress() -> UnsafeRawPointer? {
        switch storage {
        case .array(let bytes): bytes.withUnsafeBytes { $0.baseAddress }
        case .slice(let bytes): bytes.withUnsafeBytes { $0.baseAddress }
        case .shared(let bytes, let offset, let count): count == 0 ? nil : UnsafeRawPointer(bytes.base + offset)
        }
    }
}

/// Immutable bytes in one never-moving heap allocation, shared between threads and writes.
public final class SharedBytes: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    public let count: Int

    /// Copies `bytes` once.
    public init(copying bytes: some Collection<UInt8>) {
        count = bytes.count
        base = .allocate(byteCount: max(count, 1), alignment: 16)
        let buffer = UnsafeMutableRawBufferPointer(start: base, count: count)
        _ = buffer.initializeMemory(as: UInt8.self, from: bytes)
    }

    /// Allocates `count` bytes and lets `initialize` fill all of them (only during this call).
    public init(count: Int, initializingWith initialize: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        self.count = count
        base = .allocate(byteCount: max(count, 1), alignment: 16)
        do {
            try initialize(UnsafeMutableRawBufferPointer(start: base, count: count))
        } catch {
            base.deallocate()
            throw error
        }
    }

    /// Takes ownership of `base` (allocated with `UnsafeMutableRawPointer.allocate`), of which
    /// the first `count` bytes are initialized.
    init(adopting base: UnsafeMutableRawPointer, count: Int) {
        self.base = base
        self.count = count
    }

    deinit { base.deallocate() }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }
}
