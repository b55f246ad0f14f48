internal import CLibUV

#if canImport(Glibc)
    import Glibc
#endif

/// One `sendFile` call in progress: a file range going to the socket.
final class SendFileJob {
    let fileDescriptor: Int32
    var offset: Int64
    var remaining: Int64
    let completion: ((UVError?) -> Void)?
    /// A sendfile step on the socket is running on the thread pool.
    var requestOnThreadPool = false
    /// Set for the pool thread before a step: the socket descriptor.
    var socketDescriptor: Int32 = -1
    /// Written by the pool thread during a step, read on the loop thread after it.
    var stepSent = 0
    var stepErrno: Int32 = 0
    var stepHitEndOfFile = false
    /// Chunk buffer for the read-and-write step, used while the socket is full only when no
    /// writability watch could be made (no descriptor left for its duplicate).
    var chunk: UnsafeMutableRawBufferPointer?
    /// Armed while the socket is full or the loop has given other connections a turn.
    var writableWatch: SocketWritableWatch?

    init(fileDescriptor: Int32, offset: Int64, count: Int64, completion: ((UVError?) -> Void)?) {
        self.fileDescriptor = fileDescriptor
        self.offset = offset
        self.remaining = count
        self.completion = completion
    }

    deinit { chunk?.deallocate() }
}

extension TCPConnection {
    /// Largest range one sendfile step on the thread pool sends.
    static let sendFileStep: Int64 = 8 << 20
    /// Most bytes one turn of sendfile(2) on the loop thread hands to the socket before the loop
    /// serves its other connections (nginx's `sendfile_max_chunk`, 2 MiB in 1.22). A turn also
    /// ends when the socket is full.
    /// 256 KiB and no limit measured no better (README, Benchmarks).
    static let loopSendFileTurn: Int64 = 2 << 20
    /// Size of the read-and-write step used when the socket is full and no watch could be made.
    static let sendFileChunk = 64 * 1024

    /// Sends `count` bytes of the open file `descriptor` from `offset`, after everything written
    /// before and before everything written after, without copying through user space while
    /// the socket accepts data.
    ///
    /// Each turn first asks the page cache whether it holds the byte at the current offset
    /// (`preadv2` with `RWF_NOWAIT`, which never waits for the disk). When it does, the turn
    /// calls `sendfile(2)` on the loop thread, as nginx does, until the socket is full or
    /// `loopSendFileTurn` bytes went out; when it does not, one step runs on the thread pool
    /// (`uv_queue_work`), where waiting for the disk blocks no connection. Between turns a
    /// `SocketWritableWatch` waits for the socket to drain (or, after a full turn, lets the loop
    /// serve its other connections first). libuv 1.44's own `uv_fs_sendfile` is not used: on
    /// Linux it falls back to a read/poll/write loop that holds a pool thread until a slow
    /// client has taken everything. The caller keeps `descriptor` open until `completion` runs:
    /// nil when the whole range was sent, `.eof` when the file ended early (it was truncated),
    /// `.ecanceled` after `close()`, or the I/O error.
    public func sendFile(descriptor: Int32, offset: Int64, count: Int64, completion: ((UVError?) -> Void)? = nil) {
        loop.assertInLoopThread()
        if isClosed {
            completion?(.ecanceled)
            return
        }
        guard offset >= 0, count >= 0 else {
            completion?(.einval)
            return
        }
        let job = SendFileJob(fileDescriptor: descriptor, offset: offset, count: count, completion: completion)
        if sendFileInFlight != nil || !deferredOperations.isEmpty || writeRequestsInFlight > 0 {
            deferredOperations.append(.sendFile(job))
            deferredBytes += Int(count)
            return
        }
        startSendFile(job)
    }

    /// Sends `head` and then `count` bytes of the open file `descriptor` from `offset`: a
    /// response's header block followed by its body.
    ///
    /// Same ordering and completion as `write(head)` followed by `sendFile(...)`, but when
    /// nothing is queued, `head` is handed to the kernel with `MSG_MORE`: it holds the bytes until
    /// the file's pages follow,
    /// so header and body leave in the same segments and the connection pays for one push
    /// instead of two (on loopback, each push also runs the receiver's TCP input on this thread).
    public func sendFile(
        after head: [WriteBuffer], descriptor: Int32, offset: Int64, count: Int64,
        completion: ((UVError?) -> Void)? = nil
    ) {
        loop.assertInLoopThread()
        if isClosed {
            completion?(.ecanceled)
            return
        }
        guard offset >= 0, count >= 0 else {
            completion?(.einval)
            return
        }
        var socketDescriptor: uv_os_fd_t = -1
        guard count > 0, sendFileInFlight == nil, deferredOperations.isEmpty,
            writeRequestsInFlight == 0, uv_stream_get_write_queue_size(stream) == 0,
            uv_fileno(UV.handle(tcp), &socketDescriptor) == 0
        else {
            write(head)
            sendFile(descriptor: descriptor, offset: offset, count: count, completion: completion)
            return
        }
        let (sent, total, failure) = Self.sendHeld(head, on: socketDescriptor)
        if let failure {
            completion?(failure)
            return
        }
        bytesWrittenImmediately += sent
        if sent < total {
            // The socket took only part of the header block (rare: it was empty). Queue the rest;
            // the file range follows it through the ordinary path.
            var rest: [UInt8] = []
            rest.reserveCapacity(total - sent)
            var skip = sent
            for buffer in head {
                guard let base = buffer.unsafeBaseAddress() else { continue }
                let bytes = UnsafeRawBufferPointer(start: base, count: buffer.count)
                if skip >= bytes.count {
                    skip -= bytes.count
                    continue
                }
                rest.append(contentsOf: bytes[skip...])
                skip = 0
            }
            withExtendedLifetime(head) {}
            write(WriteBuffer(rest))
            sendFile(descriptor: descriptor, offset: offset, count: count, completion: completion)
            return
        }
        startSendFile(SendFileJob(fileDescriptor: descriptor, offset: offset, count: count, completion: completion))
    }

    /// `sendmsg(2)` of `buffers` with `MSG_MORE`, non-blocking: bytes sent, bytes offered, and the
    /// error when the socket is broken (EAGAIN is not an error: 0 bytes sent).
    private static func sendHeld(_ buffers: [WriteBuffer], on socket: Int32) -> (sent: Int, total: Int, failure: UVError?) {
        withUnsafeTemporaryAllocation(of: iovec.self, capacity: max(buffers.count, 1)) { vector in
            var used = 0
            var total = 0
            for buffer in buffers {
                let count = buffer.count
                guard count > 0, let base = buffer.unsafeBaseAddress() else { continue }
                vector.initializeElement(at: used, to: iovec(iov_base: UnsafeMutableRawPointer(mutating: base), iov_len: count))
                used += 1
                total += count
            }
            if total == 0 { return (0, 0, nil) }
            var message = msghdr()
            message.msg_iov = vector.baseAddress
            message.msg_iovlen = used
            var result: Int
            repeat {
                result = Glibc.sendmsg(socket, &message, Int32(MSG_MORE) | Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL))
            } while result < 0 && errno == EINTR
            withExtendedLifetime(buffers) {}
            if result >= 0 { return (result, total, nil) }
            if errno == EAGAIN || errno == EWOULDBLOCK { return (0, total, nil) }
            return (0, total, UVError(errno: errno))
        }
    }

    func startSendFile(_ job: SendFileJob) {
        sendFileInFlight = job
        continueSendFile(job)
    }

    private func continueSendFile(_ job: SendFileJob) {
        if job.remaining == 0 {
            finishSendFile(job, nil)
            return
        }
        var socketDescriptor: uv_os_fd_t = -1
        let filenoStatus = uv_fileno(UV.handle(tcp), &socketDescriptor)
        if filenoStatus < 0 {
            finishSendFile(job, UVError(rawValue: filenoStatus))
            return
        }
        if Self.pageCacheHolds(job.fileDescriptor, at: job.offset) {
            sendFromLoop(job, socket: socketDescriptor)
            return
        }
        job.writableWatch?.disarm()
        job.socketDescriptor = socketDescriptor
        job.stepSent = 0
        job.stepErrno = 0
        job.stepHitEndOfFile = false
        let request = HandleMemory.allocate(uv_work_t.self, zeroed: uv_work_t(), on: loop)
        request.pointee.data = Unmanaged.passRetained(SendFileStep(connection: self, job: job)).toOpaque()
        let status = uv_queue_work(loop.uvLoop, request, sendFileStepWork, sendFileStepDone)
        if status < 0 {
            Unmanaged<SendFileStep>.fromOpaque(request.pointee.data).release()
            HandleMemory.free(request, on: loop)
            finishSendFile(job, UVError(rawValue: status))
            return
        }
        sendFileStepsOnThreadPool += 1
        job.requestOnThreadPool = true
    }

    /// True when the page cache holds the file's byte at `offset`, so sendfile(2) from there does
    /// not wait for the disk (read-ahead has brought the pages after it too, in the usual case).
    /// One `preadv2(RWF_NOWAIT)` of one byte: it fails with EAGAIN instead of reading the disk.
    /// Measured cheaper than `mincore`, which needs the range mapped first.
    static func pageCacheHolds(_ descriptor: Int32, at offset: Int64) -> Bool {
        var byte: UInt8 = 0
        var result: Int
        repeat {
            result = wharf_pread_nowait(descriptor, &byte, 1, off_t(offset))
        } while result < 0 && errno == EINTR
        // 0 is the end of the file: let sendfile see it and report `.eof`. Any other error
        // (EOPNOTSUPP on a file system without RWF_NOWAIT) is the pool's to meet.
        return result >= 0
    }

    /// One turn of sendfile(2) on the loop thread: the socket is non-blocking and the pages are
    /// in the page cache, so each call costs a copy into the socket and no wait. Ends when the
    /// range is out, the socket is full, `loopSendFileTurn` bytes went out, or the file ended.
    private func sendFromLoop(_ job: SendFileJob, socket: Int32) {
        var offset = off_t(job.offset)
        let limit = Int(min(job.remaining, Self.loopSendFileTurn))
        var sent = 0
        var failure: Int32 = 0
        var endOfFile = false
        while sent < limit {
            let result = Glibc.sendfile(socket, job.fileDescriptor, &offset, limit - sent)
            if result > 0 {
                sent += result
            } else if result == 0 {
                endOfFile = true
                break
            } else if errno != EINTR {
                failure = errno
                break
            }
        }
        advance(job, by: sent)
        sendFileInlineCalls += 1
        if job.remaining == 0 {
            finishSendFile(job, nil)
        } else if endOfFile {
            finishSendFile(job, .eof)
        } else if failure == 0 || failure == EAGAIN {
            waitUntilWritable(job, socket: socket)
        } else {
            finishSendFile(job, UVError(errno: failure))
        }
    }

    /// Resumes `job` when the socket has room (right away at the loop's next poll after a full
    /// turn, so the loop's other connections are served in between).
    private func waitUntilWritable(_ job: SendFileJob, socket: Int32) {
        if job.writableWatch == nil {
            job.writableWatch = SocketWritableWatch(loop: loop, socket: socket) { [unowned self, unowned job] status in
                self.socketBecameWritable(job, status: status)
            }
        }
        guard let watch = job.writableWatch else {
            // No descriptor left for the watch's duplicate: the old way, one chunk read and
            // queued with uv_write, whose completion means the socket drained.
            readChunkWhileSocketIsFull(job)
            return
        }
        sendFileWritableWaits += 1
        watch.arm()
    }

    private func socketBecameWritable(_ job: SendFileJob, status: Int32) {
        guard sendFileInFlight === job, !job.requestOnThreadPool, !isClosed else { return }
        if status < 0 {
            // libuv reports POLLERR as EBADF; the socket's own error says what happened.
            finishSendFile(job, pendingSocketError() ?? UVError(rawValue: status))
            return
        }
        continueSendFile(job)
    }

    /// The socket's pending error (SO_ERROR), such as ECONNRESET after the peer reset it.
    private func pendingSocketError() -> UVError? {
        var socketDescriptor: uv_os_fd_t = -1
        guard uv_fileno(UV.handle(tcp), &socketDescriptor) == 0 else { return nil }
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard Glibc.getsockopt(socketDescriptor, SOL_SOCKET, SO_ERROR, &code, &length) == 0, code != 0 else { return nil }
        return UVError(errno: code)
    }

    fileprivate func sendFileStepReturned(_ job: SendFileJob) {
        job.requestOnThreadPool = false
        if closeDeferredForSendfile {
            finishSendFile(job, .ecanceled)
            closeNow()
            return
        }
        if isClosed {
            finishSendFile(job, .ecanceled)
            return
        }
        advance(job, by: job.stepSent)
        if job.remaining == 0 {
            finishSendFile(job, nil)
        } else if job.stepHitEndOfFile {
            finishSendFile(job, .eof)
        } else if job.stepErrno == EAGAIN {
            waitUntilWritable(job, socket: job.socketDescriptor)
        } else if job.stepErrno != 0 {
            finishSendFile(job, UVError(errno: job.stepErrno))
        } else {
            continueSendFile(job)
        }
    }

    private func advance(_ job: SendFileJob, by count: Int) {
        job.offset += Int64(count)
        job.remaining -= Int64(count)
    }

    private func readChunkWhileSocketIsFull(_ job: SendFileJob) {
        let chunk = job.chunk ?? .allocate(byteCount: Self.sendFileChunk, alignment: 16)
        job.chunk = chunk
        var buffer = UV.buffer(chunk.baseAddress!, Int(min(Int64(chunk.count), job.remaining)))
        let request = HandleMemory.allocate(uv_fs_t.self, zeroed: uv_fs_t(), on: loop)
        request.pointee.data = Unmanaged.passRetained(self).toOpaque()
        let status = uv_fs_read(loop.uvLoop, request, job.fileDescriptor, &buffer, 1, job.offset, sendFileChunkReadCallback)
        if status < 0 {
            Unmanaged<TCPConnection>.fromOpaque(request.pointee.data).release()
            HandleMemory.free(request, on: loop)
            finishSendFile(job, UVError(rawValue: status))
        }
    }

    fileprivate func chunkRead(_ result: Int) {
        guard let job = sendFileInFlight else { return }
        if isClosed {
            finishSendFile(job, .ecanceled)
            return
        }
        guard result > 0, let chunk = job.chunk else {
            finishSendFile(job, result == 0 ? .eof : UVError(rawValue: Int32(result)))
            return
        }
        var buffer = UV.buffer(chunk.baseAddress!, result)
        let request = HandleMemory.allocate(uv_write_t.self, zeroed: uv_write_t(), on: loop)
        let status = uv_write(request, stream, &buffer, 1, sendFileChunkWrittenCallback)
        if status < 0 {
            HandleMemory.free(request, on: loop)
            finishSendFile(job, UVError(rawValue: status))
            return
        }
        // Counted once the write is known to complete, so the job resumes after it.
        advance(job, by: result)
        sendFileChunksCopied += 1
    }

    fileprivate func chunkWritten(_ status: Int32) {
        guard let job = sendFileInFlight else { return }
        if isClosed || status < 0 {
            finishSendFile(job, isClosed ? .ecanceled : UVError(rawValue: status))
            return
        }
        continueSendFile(job)
    }

    func finishSendFile(_ job: SendFileJob, _ error: UVError?) {
        sendFileInFlight = nil
        job.writableWatch?.close()
        job.writableWatch = nil
        job.chunk?.deallocate()
        job.chunk = nil
        job.completion?(error)
        resumeDeferredOperations()
    }
}

/// What one sendfile step on the thread pool needs.
private final class SendFileStep {
    let connection: TCPConnection
    let job: SendFileJob
    init(connection: TCPConnection, job: SendFileJob) {
        self.connection = connection
        self.job = job
    }
}

/// Pool thread: sendfile(2) until the step's bytes are sent, the socket is full (EAGAIN), the
/// file ends, or an error. The loop thread does not touch the job meanwhile.
private func sendFileStepWork(_ request: UnsafeMutablePointer<uv_work_t>?) {
    guard let data = request?.pointee.data else { return }
    let job = Unmanaged<SendFileStep>.fromOpaque(data).takeUnretainedValue().job
    var offset = off_t(job.offset)
    let limit = Int(min(job.remaining, TCPConnection.sendFileStep))
    var sent = 0
    while sent < limit {
        let result = Glibc.sendfile(job.socketDescriptor, job.fileDescriptor, &offset, limit - sent)
        if result > 0 {
            sent += result
        } else if result == 0 {
            job.stepHitEndOfFile = true
            break
        } else if errno != EINTR {
            job.stepErrno = errno
            break
        }
    }
    job.stepSent = sent
}

private func sendFileStepDone(_ request: UnsafeMutablePointer<uv_work_t>?, _ status: Int32) {
    guard let request else { return }
    let step = Unmanaged<SendFileStep>.fromOpaque(request.pointee.data).takeRetainedValue()
    HandleMemory.free(request, on: step.connection.loop)
    step.connection.sendFileStepReturned(step.job)
    step.connection.loop.closeLateHandles()
}

private func sendFileChunkReadCallback(_ request: UnsafeMutablePointer<uv_fs_t>?) {
    guard let request else { return }
    let connection = Unmanaged<TCPConnection>.fromOpaque(request.pointee.data).takeRetainedValue()
    let result = request.pointee.result
    uv_fs_req_cleanup(request)
    HandleMemory.free(request, on: connection.loop)
    connection.chunkRead(result)
    connection.loop.closeLateHandles()
}

private func sendFileChunkWrittenCallback(_ request: UnsafeMutablePointer<uv_write_t>?, _ status: Int32) {
    guard let request else { return }
    let connection = Unmanaged<TCPConnection>.fromOpaque(request.pointee.handle.pointee.data).takeUnretainedValue()
    HandleMemory.free(request, on: connection.loop)
    connection.chunkWritten(status)
    connection.loop.closeLateHandles()
}
