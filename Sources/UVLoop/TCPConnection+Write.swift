internal import CLibUV

/// A write, file range or shutdown that waits for an earlier file range to finish, so that bytes
/// reach the socket in call order.
enum DeferredOperation {
    case write([WriteBuffer], completion: ((UVError?) -> Void)?, byteCount: Int)
    case sendFile(SendFileJob)
    case shutdown(completion: ((UVError?) -> Void)?)
}

extension TCPConnection {
    /// Bytes accepted by `write`/`sendFile` and not yet handed to the kernel. Compare it with a
    /// high-water mark and `stopReading()` (or stop producing) while it is high.
    public var writeQueueSize: Int {
        uv_stream_get_write_queue_size(stream) + deferredBytes + Int(sendFileInFlight?.remaining ?? 0)
    }

    /// Sends `buffer`; see `write(_:completion:)` for the array form.
    public func write(_ buffer: WriteBuffer, completion: ((UVError?) -> Void)? = nil) {
        write([buffer], completion: completion)
    }

    /// Sends `buffers` in order, after everything written before, without copying them.
    ///
    /// When nothing is queued, the bytes go out at once with `uv_try_write`; what the socket
    /// cannot take is queued with one `uv_write` (vectored), and the buffers stay retained until
    /// it completes. `completion` gets nil when every byte went to the kernel, or the error
    /// (`.epipe`, `.econnreset`, `.ecanceled` after `close()`). It runs **before this method
    /// returns** when the write finished immediately, otherwise later on the loop thread.
    public func write(_ buffers: [WriteBuffer], completion: ((UVError?) -> Void)? = nil) {
        loop.assertInLoopThread()
        if isClosed {
            completion?(.ecanceled)
            return
        }
        if sendFileInFlight != nil || !deferredOperations.isEmpty {
            let byteCount = buffers.reduce(0) { $0 + $1.count }
            deferredOperations.append(.write(buffers, completion: completion, byteCount: byteCount))
            deferredBytes += byteCount
            return
        }
        performWrite(buffers, completion: completion)
    }

    /// Half-closes the connection (FIN) after every queued write and file range.
    public func shutdown(completion: ((UVError?) -> Void)? = nil) {
        loop.assertInLoopThread()
        if isClosed {
            completion?(.ecanceled)
            return
        }
        if sendFileInFlight != nil || !deferredOperations.isEmpty {
            deferredOperations.append(.shutdown(completion: completion))
            return
        }
        performShutdown(completion: completion)
    }

    func performWrite(_ buffers: [WriteBuffer], completion: ((UVError?) -> Void)?) {
        // The uv_buf_t vector lives on the stack: a response is a few buffers, and libuv copies
        // the vector when it has to queue the write.
        withUnsafeTemporaryAllocation(of: uv_buf_t.self, capacity: max(buffers.count, 1)) { vector in
            var used = 0
            var total = 0
            for buffer in buffers {
                let count = buffer.count
                guard count > 0, let base = buffer.unsafeBaseAddress() else { continue }
                vector.initializeElement(at: used, to: UV.buffer(base, count))
                used += 1
                total += count
            }
            let slices = UnsafeMutableBufferPointer(rebasing: vector[0..<used])
            performWrite(slices, total: total, buffers: buffers, completion: completion)
        }
    }

    private func performWrite(
        _ slices: UnsafeMutableBufferPointer<uv_buf_t>, total: Int, buffers: [WriteBuffer],
        completion: ((UVError?) -> Void)?
    ) {
        if total == 0 {
            completion?(nil)
            return
        }
        var firstUnsent = 0
        if writeRequestsInFlight == 0 {
            // libuv itself answers EAGAIN while its own queue is not empty, so order is kept.
            let written = uv_try_write(stream, slices.baseAddress, UInt32(slices.count))
            if written < 0 && written != UV_EAGAIN.rawValue {
                completion?(UVError(rawValue: written))
                return
            }
            let sent = max(Int(written), 0)
            bytesWrittenImmediately += sent
            if sent == total {
                completion?(nil)
                return
            }
            firstUnsent = Self.skip(sent, in: slices)
        }
        let unsent = UnsafeMutableBufferPointer(rebasing: slices[firstUnsent...])
        bytesQueued += unsent.reduce(0) { $0 + $1.len }
        let pending = PendingWrite(buffers: buffers, completion: completion)
        let request = HandleMemory.allocate(uv_write_t.self, zeroed: uv_write_t(), on: loop)
        request.pointee.data = Unmanaged.passRetained(pending).toOpaque()
        // uv_write copies the uv_buf_t array; the bytes themselves stay in `pending.buffers`.
        let status = uv_write(request, stream, unsent.baseAddress, UInt32(unsent.count), connectionWriteCallback)
        if status < 0 {
            Unmanaged<PendingWrite>.fromOpaque(request.pointee.data).release()
            HandleMemory.free(request, on: loop)
            completion?(UVError(rawValue: status))
            return
        }
        writeRequestsInFlight += 1
    }

    /// Drops the first `sent` bytes from `slices`; returns the index of the first slice left.
    private static func skip(_ sent: Int, in slices: UnsafeMutableBufferPointer<uv_buf_t>) -> Int {
        var remaining = sent
        var index = 0
        while remaining > 0 {
            let length = slices[index].len
            if remaining >= length {
                remaining -= length
                index += 1
            } else {
                slices[index] = uv_buf_t(base: slices[index].base + remaining, len: length - remaining)
                remaining = 0
            }
        }
        return index
    }

    func performShutdown(completion: ((UVError?) -> Void)?) {
        let request = HandleMemory.allocate(uv_shutdown_t.self, zeroed: uv_shutdown_t(), on: loop)
        request.pointee.data = Unmanaged.passRetained(CompletionBox(completion)).toOpaque()
        let status = uv_shutdown(request, stream, connectionShutdownCallback)
        if status < 0 {
            Unmanaged<CompletionBox>.fromOpaque(request.pointee.data).release()
            HandleMemory.free(request, on: loop)
            completion?(UVError(rawValue: status))
        }
    }

    fileprivate func writeRequestFinished() {
        writeRequestsInFlight -= 1
        resumeDeferredOperations()
    }

    /// Runs deferred operations in order until one has to wait (a file range waits for the
    /// queued writes before it, everything waits for a running file range).
    func resumeDeferredOperations() {
        while !isClosed, sendFileInFlight == nil, let next = deferredOperations.first {
            switch next {
            case .write(let buffers, let completion, let byteCount):
                deferredOperations.removeFirst()
                deferredBytes -= byteCount
                performWrite(buffers, completion: completion)
            case .sendFile(let job):
                guard writeRequestsInFlight == 0 else { return }
                deferredOperations.removeFirst()
                deferredBytes -= Int(job.remaining)
                startSendFile(job)
            case .shutdown(let completion):
                deferredOperations.removeFirst()
                performShutdown(completion: completion)
            }
        }
    }

    /// Completes every deferred operation with `.ecanceled` (on close).
    func cancelDeferredOperations() {
        let cancelled = deferredOperations
        deferredOperations = []
        deferredBytes = 0
        for operation in cancelled {
            switch operation {
            case .write(_, let completion, _): completion?(.ecanceled)
            case .sendFile(let job): job.completion?(.ecanceled)
            case .shutdown(let completion): completion?(.ecanceled)
            }
        }
    }
}

/// Keeps a queued write's bytes alive until libuv is done with them.
final class PendingWrite {
    let buffers: [WriteBuffer]
    let completion: ((UVError?) -> Void)?
    init(buffers: [WriteBuffer], completion: ((UVError?) -> Void)?) {
        self.buffers = buffers
        self.completion = completion
    }
}

final class CompletionBox {
    let completion: ((UVError?) -> Void)?
    init(_ completion: ((UVError?) -> Void)?) { self.completion = completion }
}

private func connectionWriteCallback(_ request: UnsafeMutablePointer<uv_write_t>?, _ status: Int32) {
    guard let request else { return }
    let pending = Unmanaged<PendingWrite>.fromOpaque(request.pointee.data).takeRetainedValue()
    let connection = Unmanaged<TCPConnection>.fromOpaque(request.pointee.handle.pointee.data).takeUnretainedValue()
    HandleMemory.free(request, on: connection.loop)
    pending.completion?(status < 0 ? UVError(rawValue: status) : nil)
    connection.writeRequestFinished()
    connection.loop.closeLateHandles()
}

private func connectionShutdownCallback(_ request: UnsafeMutablePointer<uv_shutdown_t>?, _ status: Int32) {
    guard let request else { return }
    let box = Unmanaged<CompletionBox>.fromOpaque(request.pointee.data).takeRetainedValue()
    let connection = Unmanaged<TCPConnection>.fromOpaque(request.pointee.handle.pointee.data).takeUnretainedValue()
    HandleMemory.free(request, on: connection.loop)
    box.completion?(status < 0 ? UVError(rawValue: status) : nil)
    connection.loop.closeLateHandles()
}
