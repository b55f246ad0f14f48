import HTTPCore

/// The edge loops' hooks into the access log: what a request contributes when it is planned,
/// its line when its response is handed to the socket.
extension EdgeWorker {
    /// The request's part of its line, or nil when there is no access log.
    func accessLogRequest(_ head: RequestHead?, client: ClientTicket?) -> AccessLogRequest? {
        guard accessLog != nil else { return nil }
        let address = client.map { $0.address.description } ?? "-"
        guard let head else { return AccessLogRequest(unparsedFrom: address) }
        return AccessLogRequest(head, client: address)
    }

    /// Formats the line of a response handed to the socket (no I/O: the loop's buffer).
    func logResponse(_ request: AccessLogRequest, status: Int, bytes: Int, app: String?, startedNs: UInt64) {
        guard let accessLog else { return }
        var request = request
        request.app = app
        let seconds = startedNs == 0 ? 0 : Double(EdgeClock.monotonicNanoseconds() &- startedNs) / 1e9
        accessLog.append(request, status: status, bytes: bytes, seconds: seconds)
    }
}
