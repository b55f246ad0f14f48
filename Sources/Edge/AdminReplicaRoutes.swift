import ArtifactStore
import Foundation
import Glibc
import Synchronization

/// The origin side of the edge tier: what a `wharf edge --origin URL` reads from this Wharf.
///
/// - `GET /_wharf/api/replica/state`: `ReplicaState` as JSON (every app's current deployment as
///   the store keeps it, and the alias generation).
/// - `GET /_wharf/api/replica/events`: Server-Sent Events; an `event: generation` with the
///   current generation at once and after every alias change (seen within 250 ms), a comment
///   every 10 s so idle connections stay open; the stream ends after 5 minutes (edges reconnect).
/// - `GET /_wharf/api/replica/blobs/{sha256}`: the blob's bytes (streamed from its file or the
///   inline row), 404 for an unknown blob, 400 unless the hash is 64 lower-case hex digits.
///
/// Read-only, so an edge needs no admin token: the admin token or the read token
/// (`$WHARF_READ_TOKEN` / `<store>/read-token`) is accepted; anything else gets 401.
struct ReplicaRoutes: Sendable {
    let store: Store
    let readToken: AdminToken?
    let counters: ReplicaCounters

    static let statePath = "/_wharf/api/replica/state"
    static let eventsPath = "/_wharf/api/replica/events"
    static let blobPath = "/_wharf/api/replica/blobs/{sha256}"

    func install(on server: AdminServer) {
        server.addMetrics { [counters] text in counters.render(&text) }
        do {
            try server.routes.register("GET", Self.statePath, access: .delegated) { [self] r in try state(r) }
            try server.routes.register("GET", Self.eventsPath, access: .delegated) { [self] r in try events(r) }
            try server.routes.register("GET", Self.blobPath, access: .delegated) { [self] r in try blob(r) }
        } catch {
            preconditionFailure("replica routes are valid: \(error)")
        }
    }

    /// The admin token (already compared by the server) or the read token, in constant time.
    /// Nil when allowed, else the 401 to answer.
    private func refusal(_ request: AdminRequest) -> AdminResponse? {
        if request.isAdmin { return nil }
        if let readToken, let presented = request.credential, readToken.matches(Array(presented.utf8)) { return nil }
        counters.refused.add(1, ordering: .relaxed)
        var response = AdminResponse.error(401, "a valid bearer token (admin or read token) is required")
        response.headers = [.init(name: "WWW-Authenticate", value: #"Bearer realm="wharf-admin", error="invalid_token""#)]
        return response
    }

    func state(_ request: AdminRequest) throws -> AdminResponse {
        if let refused = refusal(request) { return refused }
        counters.stateRequests.add(1, ordering: .relaxed)
        return AdminJSON.response(try store.replicaState())
    }

    func events(_ request: AdminRequest) throws -> AdminResponse {
        if let refused = refusal(request) { return refused }
        counters.eventStreams.add(1, ordering: .relaxed)
        var response = AdminResponse(
            status: 200, body: [], contentType: "text/event-stream",
            headers: [.init(name: "Cache-Control", value: "no-store")])
        response.stream = GenerationStream(store: store)
        return response
    }

    func blob(_ request: AdminRequest) throws -> AdminResponse {
        if let refused = refusal(request) { return refused }
        let hash = request.parameters["sha256"] ?? ""
        guard ContentHash.isValidHex(hash) else { throw AdminError(400, "a blob is named by 64 lower-case hex digits") }
        let body: BodySource
        do {
            body = try store.body(hash: hash)
        } catch StoreError.corruptBlob {
            throw AdminError(404, "no blob \(hash)")
        }
        counters.blobRequests.add(1, ordering: .relaxed)
        var response = AdminResponse(
            status: 200, body: [], contentType: "application/octet-stream",
            headers: [.init(name: "X-Wharf-Blob-Size", value: String(body.length))])
        switch body {
        case .bytes(let bytes):
            response.stream = BlobStream(source: .bytes(bytes))
        case .file(let path, let offset, let length):
            let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw AdminError(404, "no blob \(hash)") }
            response.stream = BlobStream(source: .file(OpenFile(descriptor: fd, offset: Int64(offset), length: Int64(length))))
        }
        return response
    }
}

/// What the origin counts about its edges (`/_wharf/metrics`).
final class ReplicaCounters: Sendable {
    let stateRequests = Atomic<Int>(0)
    let eventStreams = Atomic<Int>(0)
    let blobRequests = Atomic<Int>(0)
    let refused = Atomic<Int>(0)

    func render(_ text: inout PrometheusText) {
        text.counter(
            "wharf_replica_state_requests_total", help: "Replica state documents served to edges.",
            stateRequests.load(ordering: .relaxed))
        text.counter(
            "wharf_replica_event_streams_total", help: "Replica change streams opened by edges.",
            eventStreams.load(ordering: .relaxed))
        text.counter(
            "wharf_replica_blob_requests_total", help: "Blobs served to edges by hash.",
            blobRequests.load(ordering: .relaxed))
        text.counter(
            "wharf_replica_refused_total", help: "Replica requests refused for a bad token.",
            refused.load(ordering: .relaxed))
    }
}

/// Server-Sent Events of the alias generation (see `ReplicaRoutes`).
final class GenerationStream: AdminBodyStream {
    private struct State {
        var sent: Int64?
        var lastWrite = ContinuousClock.now
        let opened = ContinuousClock.now
    }
    private let store: Store
    private let state = Mutex(State())
    static let keepAlive: Duration = .seconds(10)
    static let lifetime: Duration = .seconds(300)

    init(store: Store) { self.store = store }

    func next() throws -> AdminStreamChunk {
        let generation = try store.aliasGeneration()
        return state.withLock { s in
            let now = ContinuousClock.now
            if s.opened.duration(to: now) > Self.lifetime { return .end }
            if s.sent != generation {
                s.sent = generation
                s.lastWrite = now
                return .bytes(Array("event: generation\ndata: \(generation)\n\n".utf8))
            }
            if s.lastWrite.duration(to: now) > Self.keepAlive {
                s.lastWrite = now
                return .bytes(Array(": keep-alive\n\n".utf8))
            }
            return .wait
        }
    }
}

/// A blob's bytes in 64 KiB chunks, from memory or its file.
final class BlobStream: AdminBodyStream {
    enum Source: Sendable {
        case bytes([UInt8])
        case file(OpenFile)
    }
    private let source: Source
    private let position = Mutex<Int64>(0)
    static let chunk = 64 << 10

    init(source: Source) { self.source = source }

    func next() throws -> AdminStreamChunk {
        try position.withLock { done in
            switch source {
            case .bytes(let bytes):
                guard done < Int64(bytes.count) else { return .end }
                let end = min(bytes.count, Int(done) + Self.chunk)
                defer { done = Int64(end) }
                return .bytes(Array(bytes[Int(done)..<end]))
            case .file(let file):
                guard done < file.length else { return .end }
                let want = Int(min(Int64(Self.chunk), file.length - done))
                var out = [UInt8](repeating: 0, count: want)
                let n = out.withUnsafeMutableBytes { pread(file.descriptor, $0.baseAddress, want, off_t(file.offset + done)) }
                guard n > 0 else { throw AdminError(500, "blob file shorter than recorded") }
                done += Int64(n)
                return .bytes(Array(out[0..<n]))
            }
        }
    }
}
