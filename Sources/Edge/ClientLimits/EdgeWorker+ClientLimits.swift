import HTTPCore
import UVLoop

/// The edge loops' hooks into `ClientLimits`: the per-address connection cap at accept, the
/// release at close, and the request rate before a request is planned.
extension EdgeWorker {
    /// The peer of a new connection, counted against its address's cap. nil: refused and
    /// already answered (429 and a close on plain HTTP; a bare close before a TLS handshake).
    func admitClient(_ tcp: TCPConnection, secure: Bool) -> ClientTicket? {
        let address = tcp.remoteAddress.flatMap { ClientAddress($0.host) } ?? ClientAddress(high: 0, low: 0)
        guard let limits = clientLimits else { return ClientTicket(address: address, slot: -1) }
        if let ticket = limits.admitConnection(from: address) { return ticket }
        if secure {
            tcp.close()
            return nil
        }
        let plan = ArtifactResponder.error(
            429, "too many connections from \(address)", date: date(), close: true,
            extra: "Retry-After: 1\r\n")
        var buffers = [WriteBuffer(plan.head)]
        if case .bytes(let b) = plan.body { buffers.append(WriteBuffer(b)) }
        tcp.write(buffers) { _ in tcp.close() }
        return nil
    }

    /// Gives back a closed connection's place in its address's count.
    func releaseClient(_ ticket: ClientTicket?) {
        guard let ticket, let limits = clientLimits else { return }
        limits.release(ticket)
    }

    /// A 429 for a request over its client's rate, or nil to serve it.
    func rateLimited(_ head: RequestHead, peer: ClientTicket?) -> ArtifactResponder.Plan? {
        guard let limits = clientLimits, limits.limitsRequests, let peer else { return nil }
        let client = limits.client(of: head, peer: peer.address)
        var app: String?
        var path: String?
        if limits.hasRules {
            if let routed = routedApp(head) {
                app = routed.app
                path = routed.target.path
            } else {
                path = (try? RequestTarget.parse(head.target, method: head.method))?.path
            }
        }
        guard let refusal = limits.check(client: client, app: app, path: path) else { return nil }
        return ArtifactResponder.error(
            429, "too many requests", date: date(), close: !head.keepAlive,
            http10KeepAlive: head.keepAlive && head.version == .http1_0,
            extra: ClientLimits.fields(refusal), omitBody: head.method == .head)
    }
}
