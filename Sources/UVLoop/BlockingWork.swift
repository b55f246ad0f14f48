internal import CLibUV

/// Runs blocking work (disk, SQLite, hashing) on libuv's thread pool (`uv_queue_work`) and
/// delivers the result back on the loop thread, so a loop thread never blocks.
///
/// The pool is shared by every loop of the process; its size is libuv's
/// (`UV_THREADPOOL_SIZE`, default 4), which also serves `uv_fs_*` requests.
extension EventLoop {
    /// Runs `work` on the thread pool, then `completion` on this loop's thread with its result
    /// (or `UVError.ecanceled` if the pool dropped it). Call on the loop thread.
    public func runBlocking<T: Sendable>(
        _ work: @escaping @Sendable () throws -> T,
        completion: @escaping (Result<T, any Error>) -> Void
    ) {
        assertInLoopThread()
        let item = BlockingWorkItem(work: work, completion: completion)
        let request = HandleMemory.allocate(uv_work_t.self, zeroed: uv_work_t(), on: self)
        request.pointee.data = Unmanaged.passRetained(item).toOpaque()
        let status = uv_queue_work(uvLoop, request, blockingWorkCallback, blockingWorkDoneCallback)
        if status < 0 {
            Unmanaged<BlockingWorkItemBase>.fromOpaque(request.pointee.data).release()
            HandleMemory.free(request, on: self)
            completion(.failure(UVError(rawValue: status)))
        }
    }
}

/// Type-erased work item: `run` executes on a pool thread, `finish` on the loop thread.
private class BlockingWorkItemBase {
    func run() {}
    func finish(_ status: Int32) {}
}

private final class BlockingWorkItem<T: Sendable>: BlockingWorkItemBase {
    let work: @Sendable () throws -> T
    let completion: (Result<T, any Error>) -> Void
    /// Written by the pool thread, read by the loop thread after libuv's hand-over (which
    /// synchronises the two).
    var result: Result<T, any Error>?

    init(work: @escaping @Sendable () throws -> T, completion: @escaping (Result<T, any Error>) -> Void) {
        self.work = work
        self.completion = completion
    }

    override func run() { result = Result { try work() } }

    override func finish(_ status: Int32) {
        if status == UV_ECANCELED.rawValue {
            completion(.failure(UVError.ecanceled))
        } else {
            completion(result ?? .failure(UVError.ecanceled))
        }
    }
}

private func blockingWorkCallback(_ request: UnsafeMutablePointer<uv_work_t>?) {
    guard let data = request?.pointee.data else { return }
    Unmanaged<BlockingWorkItemBase>.fromOpaque(data).takeUnretainedValue().run()
}

private func blockingWorkDoneCallback(_ request: UnsafeMutablePointer<uv_work_t>?, _ status: Int32) {
    guard let request else { return }
    let item = Unmanaged<BlockingWorkItemBase>.fromOpaque(request.pointee.data).takeRetainedValue()
    let loop = EventLoop.unretained(request.pointee.loop)
    HandleMemory.free(request, on: loop)
    item.finish(status)
    loop.closeLateHandles()
}
