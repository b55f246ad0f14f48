import TLS
import UVLoop

#if canImport(Glibc)
    import Glibc
#endif

/// TLS between a `TCPConnection` and the HTTP/1.1 connection above it: ciphertext read from the
/// socket is fed to the session and the plaintext handed up; every write is encrypted before it
/// reaches the socket. Handshake messages and alerts go out as the session produces them.
///
/// sendfile(2) cannot encrypt, so a file range is read in chunks on the thread pool (`pread`),
/// encrypted on the loop and written; the next chunk is read when the previous one is in the
/// kernel (one chunk in flight per connection is the backpressure). Writes made meanwhile wait,
/// so bytes keep their order. Loop thread only.
final class TLSTransport: ConnectionTransport {
    /// Bytes read from a file per step of a file range.
    static let fileChunkBytes = 256 * 1024
    /// Responses up to this size are copied into one buffer and sealed as one record.
    static let coalesceBytes = 16 * 1024

    let tcp: TCPConnection
    let session: TLSSession
    private let onFailure: (TLSError) -> Void
    private var onData: ((UnsafeRawBufferPointer) -> Void)?
    private var onEnd: ((UVError) -> Void)?
    /// The HTTP layer wants plaintext (it has not paused reading).
    private var wantsData = false
    private var tcpReading = false
    /// The socket ended while the HTTP layer was paused with ciphertext still buffered.
    private var pendingEnd: UVError?
    private var pumpScheduled = false
    private(set) var isClosed = false
    private(set) var handshakeStartedMs: UInt64?

    private enum Deferred {
        case write([WriteBuffer], ((UVError?) -> Void)?, Int)
        case file(head: [WriteBuffer], descriptor: Int32, offset: Int64, count: Int64, ((UVError?) -> Void)?)
    }
    private var deferred: [Deferred] = []
    private var deferredBytes = 0
    /// The file range being sent, if any.
    private var fileRemaining: Int64 = 0
    private var fileBusy = false
    /// A `pread` is on the thread pool; closing the socket waits for it (as `TCPConnection` waits
    /// for its sendfile), so every completion runs before `onClose`, as the contract says.
    private var readInFlight = false
    private var closeDeferred = false

    init(tcp: TCPConnection, session: TLSSession, onFailure: @escaping (TLSError) -> Void) {
        self.tcp = tcp
        self.session = session
        self.onFailure = onFailure
        handshakeStartedMs = tcp.loop.nowMilliseconds
    }

    var loop: EventLoop { tcp.loop }
    var onClose: (() -> Void)? {
        get { tcp.onClose }
        set { tcp.onClose = newValue }
    }
    var writeQueueSize: Int { tcp.writeQueueSize + deferredBytes + Int(fileRemaining) }

    func setNoDelay(_ enabled: Bool) throws(UVError) { try tcp.setNoDelay(enabled) }

    // MARK: reading

    func startReading(onData: @escaping (UnsafeRawBufferPointer) -> Void, onEnd: @escaping (UVError) -> Void) {
        guard !isClosed else { return }
        self.onData = onData
        self.onEnd = onEnd
        wantsData = true
        if !tcpReading {
            tcpReading = true
            // Unowned, not weak: the socket clears these callbacks when it closes, before this
            // transport can go, and a weak reference would move every retain and release of the
            // transport to the slow side-table path (seen in the profile).
            tcp.startReading(
                onData: { [unowned self] bytes in self.received(bytes) },
                onEnd: { [unowned self] error in self.ended(error) })
        }
        if session.bufferedInputCount > 0 || pendingEnd != nil { schedulePump() }
    }

    func stopReading() {
        wantsData = false
        // During the handshake the socket keeps being read: the HTTP layer has asked for nothing yet.
        if session.isHandshakeComplete && tcpReading {
            tcpReading = false
            tcp.stopReading()
        }
    }

    private func received(_ ciphertext: UnsafeRawBufferPointer) {
        guard !isClosed else { return }
        if !wantsData && session.isHandshakeComplete {
            session.buffer(ciphertext)
            return
        }
        advance(ciphertext)
    }

    private func advance(_ ciphertext: UnsafeRawBufferPointer?) {
        // Every record decrypted here is handed up, even after the HTTP layer paused in the middle
        // of them (it keeps what it cannot parse yet, as with one TCP read); pausing stops the
        // next reads from the socket and their decryption.
        let state = session.receive(ciphertext) { [self] plaintext in
            if !isClosed { onData?(plaintext) }
        }
        guard !isClosed else { return }
        if session.hasOutput { sendOutput(nil) }
        switch state {
        case .handshaking:
            break
        case .established:
            handshakeStartedMs = nil
        case .closedByPeer:
            handshakeStartedMs = nil
            ended(.eof)
        case .failed(let error):
            onFailure(error)
            closeAfterOutput()
        }
    }

    private func ended(_ error: UVError) {
        tcpReading = false
        if !wantsData && session.bufferedInputCount > 0 {
            pendingEnd = error
            return
        }
        let onEnd = self.onEnd
        self.onData = nil
        self.onEnd = nil
        onEnd?(error)
    }

    /// Delivers input buffered while paused, from a fresh loop turn (never re-entering the caller).
    private func schedulePump() {
        guard !pumpScheduled else { return }
        pumpScheduled = true
        let bound = LoopBound(self)
        _ = loop.execute {
            let transport = bound.value
            transport.pumpScheduled = false
            guard !transport.isClosed, transport.wantsData else { return }
            transport.advance(nil)
            if let end = transport.pendingEnd, transport.session.bufferedInputCount == 0, !transport.isClosed {
                transport.pendingEnd = nil
                transport.ended(end)
            }
        }
    }

    // MARK: writing

    func write(_ buffers: [WriteBuffer], completion: ((UVError?) -> Void)?) {
        if isClosed {
            completion?(.ecanceled)
            return
        }
        if fileBusy || !deferred.isEmpty {
            let count = buffers.reduce(0) { $0 + $1.count }
            deferred.append(.write(buffers, completion, count))
            deferredBytes += count
            return
        }
        if seal(buffers) { sendOutput(completion) } else { completion?(.eproto) }
    }

    /// Encrypts `buffers` into the session's output; small responses become one record.
    private func seal(_ buffers: [WriteBuffer]) -> Bool {
        let total = buffers.reduce(0) { $0 + $1.count }
        if buffers.count > 1 && total <= TLSTransport.coalesceBytes {
            return withUnsafeTemporaryAllocation(byteCount: max(total, 1), alignment: 16) { scratch -> Bool in
                var used = 0
                for buffer in buffers {
                    buffer.withUnsafeBytes { bytes in
                        if bytes.count > 0 { (scratch.baseAddress! + used).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
                        used += bytes.count
                    }
                }
                return seal(UnsafeRawBufferPointer(start: scratch.baseAddress, count: used))
            }
        }
        for buffer in buffers {
            guard buffer.withUnsafeBytes({ seal($0) }) else { return false }
        }
        return true
    }

    private func seal(_ bytes: UnsafeRawBufferPointer) -> Bool {
        do {
            try session.encrypt(bytes)
            return true
        } catch {
            onFailure(error)
            return false
        }
    }

    private func sendOutput(_ completion: ((UVError?) -> Void)?) {
        let output = session.takeOutput()
        if output.isEmpty {
            completion?(nil)
        } else {
            tcp.write([WriteBuffer(output)], completion: completion)
        }
    }

    func sendFile(descriptor: Int32, offset: Int64, count: Int64, completion: ((UVError?) -> Void)?) {
        sendFile(after: [], descriptor: descriptor, offset: offset, count: count, completion: completion)
    }

    func sendFile(after head: [WriteBuffer], descriptor: Int32, offset: Int64, count: Int64, completion: ((UVError?) -> Void)?) {
        if isClosed {
            completion?(.ecanceled)
            return
        }
        if fileBusy || !deferred.isEmpty {
            deferred.append(.file(head: head, descriptor: descriptor, offset: offset, count: count, completion))
            deferredBytes += Int(count) + head.reduce(0) { $0 + $1.count }
            return
        }
        startFile(head: head, descriptor: descriptor, offset: offset, count: count, completion: completion)
    }

    private func startFile(head: [WriteBuffer], descriptor: Int32, offset: Int64, count: Int64, completion: ((UVError?) -> Void)?) {
        guard seal(head) else {
            completion?(.eproto)
            return
        }
        fileBusy = true
        fileRemaining = count
        readChunk(descriptor: descriptor, offset: offset, completion: completion)
    }

    /// One step: pread a chunk on the thread pool, then encrypt it (with anything sealed before)
    /// and write it; the next step starts when that write completes.
    private func readChunk(descriptor: Int32, offset: Int64, completion: ((UVError?) -> Void)?) {
        if fileRemaining == 0 {
            // Nothing (left) to read: send what is sealed and finish.
            sendOutput { error in self.finishFile(error, completion) }
            return
        }
        let length = Int(min(fileRemaining, Int64(TLSTransport.fileChunkBytes)))
        let bound = LoopBound(self)
        readInFlight = true
        loop.runBlocking(
            { () throws -> [UInt8] in
                try TLSTransport.readFully(descriptor: descriptor, offset: offset, count: length)
            },
            completion: { result in
                let transport = bound.value
                transport.readInFlight = false
                guard !transport.isClosed else {
                    transport.finishFile(.ecanceled, completion)
                    if transport.closeDeferred { transport.tcp.close() }
                    return
                }
                switch result {
                case .failure:
                    transport.finishFile(.eio, completion)
                case .success(let bytes):
                    let sealed = bytes.withUnsafeBytes { transport.seal($0) }
                    guard sealed else {
                        transport.finishFile(.eproto, completion)
                        return
                    }
                    transport.fileRemaining -= Int64(bytes.count)
                    let next = offset + Int64(bytes.count)
                    transport.sendOutput { error in
                        if let error {
                            transport.finishFile(error, completion)
                        } else if transport.fileRemaining == 0 {
                            transport.finishFile(nil, completion)
                        } else {
                            transport.readChunk(descriptor: descriptor, offset: next, completion: completion)
                        }
                    }
                }
            })
    }

    private static func readFully(descriptor: Int32, offset: Int64, count: Int) throws -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            while initialized < count {
                let n = pread(descriptor, buffer.baseAddress! + initialized, count - initialized, off_t(offset) + off_t(initialized))
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { throw UVError.eio }  // error, or the file is shorter than its range
                initialized += n
            }
        }
    }

    private func finishFile(_ error: UVError?, _ completion: ((UVError?) -> Void)?) {
        fileBusy = false
        fileRemaining = 0
        completion?(error)
        if isClosed {
            cancelDeferred()
            return
        }
        while !isClosed, !fileBusy, !deferred.isEmpty {
            let next = deferred.removeFirst()
            switch next {
            case .write(let buffers, let completion, let count):
                deferredBytes -= count
                if seal(buffers) { sendOutput(completion) } else { completion?(.eproto) }
            case .file(let head, let descriptor, let offset, let count, let completion):
                deferredBytes -= Int(count) + head.reduce(0) { $0 + $1.count }
                startFile(head: head, descriptor: descriptor, offset: offset, count: count, completion: completion)
            }
        }
    }

    private func cancelDeferred() {
        let cancelled = deferred
        deferred = []
        deferredBytes = 0
        for operation in cancelled {
            switch operation {
            case .write(_, let completion, _): completion?(.ecanceled)
            case .file(_, _, _, _, let completion): completion?(.ecanceled)
            }
        }
    }

    // MARK: closing

    /// Sends close_notify (best effort: it goes out at once when the socket has room) and closes.
    func close() {
        if lingering {
            tcp.close()
            return
        }
        guard !isClosed else { return }
        if session.isHandshakeComplete, case .established = session.state {
            session.shutdown()
        }
        closeAfterOutput()
    }

    /// The socket is lingering (see `lingeringClose`): `close` ends it at once.
    private var lingering = false

    /// close_notify and what is queued go out, then the socket lingers (TCP's lingering close);
    /// with a file range still being read, a plain close.
    func lingeringClose(after milliseconds: Int) {
        guard !isClosed else { return }
        if fileBusy || readInFlight {
            close()
            return
        }
        if session.isHandshakeComplete, case .established = session.state {
            session.shutdown()
        }
        isClosed = true
        lingering = true
        onData = nil
        onEnd = nil
        if session.hasOutput { tcp.write([WriteBuffer(session.takeOutput())], completion: nil) }
        cancelDeferred()
        tcp.lingeringClose(after: milliseconds)
    }

    /// Writes what the session has queued (an alert, close_notify) and closes the socket.
    private func closeAfterOutput() {
        guard !isClosed else { return }
        isClosed = true
        onData = nil
        onEnd = nil
        if session.hasOutput { tcp.write([WriteBuffer(session.takeOutput())], completion: nil) }
        if !fileBusy { cancelDeferred() }
        if readInFlight {
            tcp.stopReading()
            closeDeferred = true
            return
        }
        tcp.close()
    }
}
