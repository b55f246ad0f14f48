internal import CLibUV
import Synchronization

/// An object that owns one or more open libuv handles on one loop.
///
/// Ownership rules (libuv's `docs/src/design.rst`, and NIO's explicit parser owner):
/// - handle memory comes from `HandleMemory.allocate`, never moves, and is freed only in the
///   close callback (`handleDidClose`), so libuv never sees a dangling pointer;
/// - `handle->data` holds `Unmanaged.passUnretained(owner)`; the loop's registry holds the strong
///   reference from `EventLoop.register` until the close callback, so an open handle keeps its
///   owner alive even when user code drops every reference to it;
/// - `EventLoop.stop()` calls `close()` on every registered owner.
protocol LoopHandleOwner: AnyObject {
    /// Starts closing every handle of this owner; idempotent.
    func close()
    /// Called on the loop thread from the close callback of `handle`; frees its memory.
    func handleDidClose(_ handle: UnsafeMutableRawPointer)
}

/// Allocation of libuv handles and requests, counted per loop and process-wide so that tests
/// (and `scripts/leakcheck-uvloop.sh`) can prove every allocation was freed.
enum HandleMemory {
    /// Handles and requests allocated and not yet freed, in the whole process.
    static let liveCount = Atomic<Int>(0)

    static func allocate<T>(_ type: T.Type, zeroed value: T, on loop: EventLoop) -> UnsafeMutablePointer<T> {
        let pointer = UnsafeMutablePointer<T>.allocate(capacity: 1)
        pointer.initialize(to: value)
        liveCount.add(1, ordering: .relaxed)
        loop.liveAllocations.add(1, ordering: .relaxed)
        return pointer
    }

    static func free<T>(_ pointer: UnsafeMutablePointer<T>, on loop: EventLoop) {
        pointer.deinitialize(count: 1)
        pointer.deallocate()
        liveCount.subtract(1, ordering: .relaxed)
        loop.liveAllocations.subtract(1, ordering: .relaxed)
    }
}

/// The single close callback for every handle UVLoop opens: unregisters the handle and lets
/// its owner free the memory.
func handleClosedCallback(_ handle: UnsafeMutablePointer<uv_handle_t>?) {
    guard let handle else { return }
    let loop = EventLoop.unretained(handle.pointee.loop)
    let raw = UnsafeMutableRawPointer(handle)
    guard let owner = loop.unregister(raw) else {
        preconditionFailure("UVLoop: close callback for an unregistered handle")
    }
    owner.handleDidClose(raw)
    loop.closeLateHandles()
}
