internal import CLibUV

#if canImport(Glibc)
    import Glibc
#endif

/// How to start a child process.
public struct ProcessOptions: Sendable {
    /// A path, or a name looked up in `PATH` (libuv uses `execvp`).
    public var executable: String
    /// Arguments after `argv[0]` (which is `executable`).
    public var arguments: [String]
    /// The complete environment as `NAME=value` pairs; nil inherits this process's.
    public var environment: [String]?
    /// nil keeps this process's working directory.
    public var workingDirectory: String?
    /// Start the child in its own session and process group (`setsid`), so `kill` reaches
    /// everything it started.
    public var newProcessGroup: Bool
    /// How long output is still read after the child exited while something it started keeps
    /// a pipe open; then the pipes are closed and the exit is reported.
    public var outputDrainTimeout: Duration

    public init(
        executable: String, arguments: [String] = [], environment: [String]? = nil,
        workingDirectory: String? = nil, newProcessGroup: Bool = true, outputDrainTimeout: Duration = .seconds(2)
    ) {
        self.outputDrainTimeout = outputDrainTimeout
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.newProcessGroup = newProcessGroup
    }
}

/// Which output pipe a chunk came from.
public enum ProcessOutputStream: Sendable, Equatable {
    case standardOutput, standardError
}

/// How a child ended: an exit status, or the signal that terminated it.
public struct ProcessExit: Sendable, Equatable {
    public let exitStatus: Int64
    /// 0 when the process exited by itself.
    public let terminationSignal: Int32

    public var succeeded: Bool { exitStatus == 0 && terminationSignal == 0 }
}

/// A child process started with `uv_spawn`, its stdout and stderr read through pipes.
///
/// Output arrives as chunks (not lines) in the order each pipe delivers them. `onExit` runs once,
/// after the process exited and both pipes reached end-of-file, or `ProcessOptions.outputDrainTimeout`
/// after the exit when something the child started still holds a pipe open. stdin is `/dev/null`.
/// Loop thread only; the loop owns the object until `onExit` ran or `close()` was called.
public final class ChildProcess: LoopHandleOwner, @unchecked Sendable {
    public let loop: EventLoop
    /// The child's process id (also its process group id when `newProcessGroup`).
    public private(set) var pid: Int32 = 0
    public private(set) var exit: ProcessExit?
    private let signalsGroup: Bool
    private let outputDrainTimeout: Duration
    private let process: UnsafeMutablePointer<uv_process_t>
    private let outputPipe: UnsafeMutablePointer<uv_pipe_t>
    private let errorPipe: UnsafeMutablePointer<uv_pipe_t>
    private var open: Set<UnsafeMutableRawPointer> = []
    private var outputEnded = false, errorEnded = false
    private var drainTimer: LoopTimer?
    private var onOutput: ((ProcessOutputStream, [UInt8]) -> Void)?
    private var onExit: ((ProcessExit) -> Void)?

    /// Starts `options.executable`.
    ///
    /// - Throws: `.enoent` (no such executable), `.eacces`, … — the spawn error, with every
    ///   handle released.
    public static func spawn(
        on loop: EventLoop, _ options: ProcessOptions,
        onOutput: @escaping (ProcessOutputStream, [UInt8]) -> Void,
        onExit: @escaping (ProcessExit) -> Void
    ) throws(UVError) -> ChildProcess {
        loop.assertInLoopThread()
        let child = ChildProcess(
            loop: loop, signalsGroup: options.newProcessGroup, outputDrainTimeout: options.outputDrainTimeout,
            onOutput: onOutput, onExit: onExit)
        try child.start(options)
        return child
    }

    private init(
        loop: EventLoop, signalsGroup: Bool, outputDrainTimeout: Duration,
        onOutput: @escaping (ProcessOutputStream, [UInt8]) -> Void, onExit: @escaping (ProcessExit) -> Void
    ) {
        self.loop = loop
        self.signalsGroup = signalsGroup
        self.outputDrainTimeout = outputDrainTimeout
        self.onOutput = onOutput
        self.onExit = onExit
        process = HandleMemory.allocate(uv_process_t.self, zeroed: uv_process_t(), on: loop)
        outputPipe = HandleMemory.allocate(uv_pipe_t.self, zeroed: uv_pipe_t(), on: loop)
        errorPipe = HandleMemory.allocate(uv_pipe_t.self, zeroed: uv_pipe_t(), on: loop)
        let context = Unmanaged.passUnretained(self).toOpaque()
        for pipe in [outputPipe, errorPipe] {
            uv_pipe_init(loop.uvLoop, pipe, 0)
            pipe.pointee.data = context
            register(pipe)
        }
        process.pointee.data = context
    }

    private func register<T>(_ handle: UnsafeMutablePointer<T>) {
        let raw = UnsafeMutableRawPointer(handle)
        open.insert(raw)
        loop.register(raw, owner: self)
    }

    private func start(_ options: ProcessOptions) throws(UVError) {
        let cStrings = CStringList([options.executable] + options.arguments)
        let environment = options.environment.map(CStringList.init)
        defer {
            cStrings.free()
            environment?.free()
        }
        var stdio = [uv_stdio_container_t](repeating: uv_stdio_container_t(), count: 3)
        stdio[0].flags = UV_IGNORE
        let pipeFlags = uv_stdio_flags(rawValue: UV_CREATE_PIPE.rawValue | UV_WRITABLE_PIPE.rawValue)
        stdio[1].flags = pipeFlags
        stdio[1].data.stream = UV.stream(outputPipe)
        stdio[2].flags = pipeFlags
        stdio[2].data.stream = UV.stream(errorPipe)

        let workingDirectory = options.workingDirectory.map { strdup($0) }
        defer { workingDirectory.map { Glibc.free($0) } }
        let status = stdio.withUnsafeMutableBufferPointer { stdio -> Int32 in
            var uvOptions = uv_process_options_t()
            uvOptions.exit_cb = childProcessExitCallback
            uvOptions.file = UnsafePointer(cStrings.pointers[0])
            uvOptions.args = cStrings.pointers.baseAddress
            uvOptions.env = environment?.pointers.baseAddress
            uvOptions.cwd = workingDirectory.map { UnsafePointer($0!) }
            uvOptions.flags = options.newProcessGroup ? UV_PROCESS_DETACHED.rawValue : 0
            uvOptions.stdio_count = 3
            uvOptions.stdio = stdio.baseAddress
            return uv_spawn(loop.uvLoop, process, &uvOptions)
        }
        // uv_spawn initialises the process handle even when it fails: it must be closed either way.
        register(process)
        if status < 0 {
            onOutput = nil
            onExit = nil
            close()
            throw UVError(rawValue: status)
        }
        pid = process.pointee.pid
        for pipe in [outputPipe, errorPipe] {
            let readStatus = uv_read_start(UV.stream(pipe), childPipeAllocCallback, childPipeReadCallback)
            if readStatus < 0 { pipeEnded(UV.stream(pipe)) }
        }
    }

    // MARK: Signals

    /// Sends `signal` to the child's whole process group (or only the child without
    /// `newProcessGroup`). Group members the child started are reached even after it exited.
    ///
    /// - Throws: `.esrch` when nothing is left to signal.
    public func kill(_ signal: Int32 = Glibc.SIGTERM) throws(UVError) {
        guard pid > 0 else { throw .esrch }
        if signalsGroup {
            if Glibc.kill(-pid, signal) != 0 { throw UVError(errno: errno) }
        } else {
            // Without a group, the pid may be reused once the exit was reaped.
            guard exit == nil else { throw .esrch }
            if Glibc.kill(pid, signal) != 0 { throw UVError(errno: errno) }
        }
    }

    // MARK: Events

    fileprivate func exited(status: Int64, signal: Int32) {
        exit = ProcessExit(exitStatus: status, terminationSignal: signal)
        closeHandle(process)
        if outputEnded && errorEnded {
            deliverExit()
        } else {
            drainTimer = LoopTimer.once(on: loop, after: outputDrainTimeout) { [weak self] in
                self?.drainTimer = nil
                self?.deliverExit()
            }
        }
    }

    fileprivate func received(_ bytes: UnsafeRawBufferPointer, from stream: UnsafeMutablePointer<uv_stream_t>) {
        let source: ProcessOutputStream = stream == UV.stream(outputPipe) ? .standardOutput : .standardError
        onOutput?(source, [UInt8](bytes))
    }

    fileprivate func pipeEnded(_ stream: UnsafeMutablePointer<uv_stream_t>) {
        if stream == UV.stream(outputPipe) {
            outputEnded = true
            closeHandle(outputPipe)
        } else {
            errorEnded = true
            closeHandle(errorPipe)
        }
        if exit != nil && outputEnded && errorEnded { deliverExit() }
    }

    private func deliverExit() {
        guard let exit, let onExit else { return }
        self.onExit = nil
        close()
        onExit(exit)
    }

    // MARK: Closing

    /// Releases the pipes and the process handle; idempotent. It does not signal the child: call
    /// `kill` first to end it. `onExit` is not called after `close()`.
    public func close() {
        onOutput = nil
        onExit = nil
        drainTimer?.close()
        drainTimer = nil
        closeHandle(outputPipe)
        closeHandle(errorPipe)
        closeHandle(process)
    }

    private func closeHandle<T>(_ handle: UnsafeMutablePointer<T>) {
        let raw = UnsafeMutableRawPointer(handle)
        guard open.remove(raw) != nil else { return }
        uv_close(UV.handle(handle), handleClosedCallback)
    }

    func handleDidClose(_ handle: UnsafeMutableRawPointer) {
        switch handle {
        case UnsafeMutableRawPointer(process): HandleMemory.free(process, on: loop)
        case UnsafeMutableRawPointer(outputPipe): HandleMemory.free(outputPipe, on: loop)
        default: HandleMemory.free(errorPipe, on: loop)
        }
    }
}

/// A NULL-terminated array of C strings, freed explicitly.
private struct CStringList {
    let pointers: UnsafeMutableBufferPointer<UnsafeMutablePointer<CChar>?>

    init(_ strings: [String]) {
        pointers = .allocate(capacity: strings.count + 1)
        for (index, string) in strings.enumerated() { pointers[index] = strdup(string) }
        pointers[strings.count] = nil
    }

    func free() {
        for pointer in pointers { Glibc.free(pointer) }
        pointers.deallocate()
    }
}

private func childProcessExitCallback(_ process: UnsafeMutablePointer<uv_process_t>?, _ status: Int64, _ signal: Int32) {
    guard let data = process?.pointee.data else { return }
    Unmanaged<ChildProcess>.fromOpaque(data).takeUnretainedValue().exited(status: status, signal: signal)
}

private func childPipeAllocCallback(
    _ handle: UnsafeMutablePointer<uv_handle_t>?, _ suggestedSize: Int, _ buffer: UnsafeMutablePointer<uv_buf_t>?
) {
    guard let handle, let buffer else { return }
    let readBuffer = EventLoop.unretained(handle.pointee.loop).readBuffer
    buffer.pointee = UV.buffer(readBuffer.baseAddress!, readBuffer.count)
}

private func childPipeReadCallback(_ stream: UnsafeMutablePointer<uv_stream_t>?, _ count: Int, _ buffer: UnsafePointer<uv_buf_t>?) {
    guard let stream, let data = stream.pointee.data else { return }
    let child = Unmanaged<ChildProcess>.fromOpaque(data).takeUnretainedValue()
    if count > 0, let base = buffer?.pointee.base {
        child.received(UnsafeRawBufferPointer(start: base, count: count), from: stream)
    } else if count < 0 {
        child.pipeEnded(stream)
    }
}
