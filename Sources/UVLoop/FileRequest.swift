internal import CLibUV

/// One asynchronous `uv_fs_*` request: started on the loop, finished by `completion` on the loop
/// thread with the request still valid (result, stat buffer), then cleaned up and freed.
final class FileRequest {
    private let loop: EventLoop
    private let completion: (UnsafeMutablePointer<uv_fs_t>) -> Void

    private init(loop: EventLoop, completion: @escaping (UnsafeMutablePointer<uv_fs_t>) -> Void) {
        self.loop = loop
        self.completion = completion
    }

    /// Allocates the request, calls `start(request, callback)` (one `uv_fs_*` call); on a
    /// synchronous failure frees it and returns the error.
    static func submit(
        on loop: EventLoop,
        _ start: (UnsafeMutablePointer<uv_fs_t>, uv_fs_cb) -> Int32,
        completion: @escaping (UnsafeMutablePointer<uv_fs_t>) -> Void
    ) -> UVError? {
        loop.assertInLoopThread()
        let request = HandleMemory.allocate(uv_fs_t.self, zeroed: uv_fs_t(), on: loop)
        let owner = FileRequest(loop: loop, completion: completion)
        request.pointee.data = Unmanaged.passRetained(owner).toOpaque()
        let status = start(request, fileRequestCallback)
        guard status < 0 else { return nil }
        Unmanaged<FileRequest>.fromOpaque(request.pointee.data).release()
        uv_fs_req_cleanup(request)
        HandleMemory.free(request, on: loop)
        return UVError(rawValue: status)
    }

    fileprivate func finish(_ request: UnsafeMutablePointer<uv_fs_t>) {
        completion(request)
        uv_fs_req_cleanup(request)
        HandleMemory.free(request, on: loop)
        loop.closeLateHandles()
    }
}

private func fileRequestCallback(_ request: UnsafeMutablePointer<uv_fs_t>?) {
    guard let request else { return }
    Unmanaged<FileRequest>.fromOpaque(request.pointee.data).takeRetainedValue().finish(request)
}
