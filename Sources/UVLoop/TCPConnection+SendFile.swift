internal import CLibUV

/// One `sendFile` call in progress: a file range going to the socket.
final class SendFileJob {
    let fileDescriptor: Int32
    var offset: Int64
    var remaining: Int64
    let completion: ((UVError?) -> Void)?
    /// A `uv_fs_sendfile` on the socket is running on the thread pool.
    var requestOnThreadPool = false
    /// Chunk buffer for the read-and-write step used while the socket is full.
    var chunk: UnsafeMutableRawBufferPointer?

    init(fileDescriptor: Int32, offset: Int64, count: Int64, completion: ((UVError?) -> Void)?) {
        self.fileDescriptor = fileDescriptor
        self.offset = offset
        self.remaining = count
        self.completion = completion
    }

    deinit { chunk?.deallocate() }
}

extension TCPConnection {
    /// Largest range one `uv_fs_sendfile` call is asked for.
    static let sendFileStep: Int64 = 8 << 20
    /// Size of the read-and-write step used when the socket is full.
    static let sendFileChunk = 64 * 1024

    /// Sends `count` bytes of the open file `descriptor` from `offset`, after everything written
    /// before and before everything written after, without copying through user space while
    /// the socket accepts data.
    ///
    /// `uv_fs_sendfile` runs on the thread pool and the socket is non-blocking, so a full socket
    /// answers EAGAIN; then one chunk is read (`uv_fs_read`) and queued with `uv_write`, whose
    /// completion means the socket drained, and sendfile resumes. The caller keeps `descriptor`
    /// open until `completion` runs: nil when the whole range was sent, `.eof` when the file
    /// ended early, `.ecanceled` after `close()`, or the I/O error.
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
        let request = HandleMemory.allocate(uv_fs_t.self, zeroed: uv_fs_t(), on: loop)
        request.pointee.data = Unmanaged.passRetained(self).toOpaque()
        let length = Int(min(job.remaining, Self.sendFileStep))
        let status = uv_fs_sendfile(loop.uvLoop, request, socketDescriptor, job.fileDescriptor, job.offset, length, sendFileCallback)
        if status < 0 {
            Unmanaged<TCPConnection>.fromOpaque(request.pointee.data).release()
            HandleMemory.free(request, on: loop)
            finishSendFile(job, UVError(rawValue: status))
            return
        }
        job.requestOnThreadPool = true
    }

    fileprivate func sendFileReturned(_ result: Int) {
        guard let job = sendFileInFlight else { return }
        job.requestOnThreadPool = false
        if closeDeferredForSendfile {
            finishSendFile(job, .ecanceled)
            closeNow()
            return
        }
        if isClosed {
            finishSendFile(job, .ecanceled)
        } else if result > 0 {
            advance(job, by: result)
            continueSendFile(job)
        } else if result == 0 {
            finishSendFile(job, .eof)
        } else if result == Int(UV_EAGAIN.rawValue) {
            readChunkWhileSocketIsFull(job)
        } else {
            finishSendFile(job, UVError(rawValue: Int32(result)))
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
    }

    fileprivate func chunkWritten(_ status: Int32) {
        guard let job = sendFileInFlight else { return }
        if isClosed || status < 0 {
            finishSendFile(job, isClosed ? .ecanceled : UVError(rawValue: status))
            return
        }
        continueSendFile(job)
    }

    private func finishSendFile(_ job: SendFileJob, _ error: UVError?) {
        sendFileInFlight = nil
        job.chunk?.deallocate()
        job.chunk = nil
        job.completion?(error)
        resumeDeferredOperations()
    }
}

private func sendFileCallback(_ request: UnsafeMutablePointer<uv_fs_t>?) {
    guard let request else { return }
    let connection = Unmanaged<TCPConnection>.fromOpaque(request.pointee.data).takeRetainedValue()
    let result = request.pointee.result
    uv_fs_req_cleanup(request)
    HandleMemory.free(request, on: connection.loop)
    connection.sendFileReturned(result)
}

private func sendFileChunkReadCallback(_ request: UnsafeMutablePointer<uv_fs_t>?) {
    guard let request else { return }
    let connection = Unmanaged<TCPConnection>.fromOpaque(request.pointee.data).takeRetainedValue()
    let result = request.pointee.result
    uv_fs_req_cleanup(request)
    HandleMemory.free(request, on: connection.loop)
    connection.chunkRead(result)
}

private func sendFileChunkWrittenCallback(_ request: UnsafeMutablePointer<uv_write_t>?, _ status: Int32) {
    guard let request else { return }
    let connection = Unmanaged<TCPConnection>.fromOpaque(request.pointee.handle.pointee.data).takeUnretainedValue()
    HandleMemory.free(request, on: connection.loop)
    connection.chunkWritten(status)
}
