internal import CLibUV

/// Small helpers around raw libuv calls: status checks and the pointer casts libuv's
/// "struct inheritance" (uv_tcp_t is a uv_stream_t is a uv_handle_t) needs in Swift.
enum UV {
    /// Throws the libuv error when `status` is negative.
    @inline(__always)
    static func check(_ status: Int32) throws(UVError) {
        if status < 0 { throw UVError(rawValue: status) }
    }

    @inline(__always)
    static func handle<T>(_ pointer: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<uv_handle_t> {
        UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: uv_handle_t.self)
    }

    @inline(__always)
    static func stream<T>(_ pointer: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<uv_stream_t> {
        UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: uv_stream_t.self)
    }

    /// A `uv_buf_t` over bytes that libuv only reads (writes); libuv's type is not const.
    @inline(__always)
    static func buffer(_ base: UnsafeRawPointer, _ count: Int) -> uv_buf_t {
        uv_buf_t(base: UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: CChar.self)), len: count)
    }
}
