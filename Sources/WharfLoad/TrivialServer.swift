import UVLoop

/// The smallest useful HTTP/1.1 server: answers every request head with the same fixed 200
/// response, keep-alive, nothing parsed beyond the blank line. It exists to measure the load
/// generator's own overhead (`wharf-load trivial-server`), and to test the generator on loopback.
final class TrivialServer {
    let listener: TCPListener
    private let response: SharedBytes

    /// Starts listening on `host:port` (0 = ephemeral) on `loop`; loop thread only.
    init(loop: EventLoop, host: String, port: Int, bodyBytes: Int = 2048) throws(UVError) {
        let body = String(repeating: "x", count: bodyBytes)
        response = SharedBytes(
            copying: Array(
                ("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: \(bodyBytes)\r\n"
                    + "ETag: \"trivial\"\r\n\r\n" + body).utf8))
        let response = self.response
        listener = try TCPListener.listen(on: loop, host: host, port: port) { connection in
            try? connection.setNoDelay(true)
            // State per connection: how many bytes of "\r\n\r\n" matched so far.
            var matched = 0
            connection.startReading(
                onData: { bytes in
                    var answers = 0
                    for byte in bytes {
                        switch (matched, byte) {
                        case (0, 0x0D), (2, 0x0D): matched += 1
                        case (1, 0x0A): matched = 2
                        case (3, 0x0A):
                            matched = 0
                            answers += 1
                        case (_, 0x0D): matched = 1
                        default: matched = 0
                        }
                    }
                    for _ in 0..<answers { connection.write(WriteBuffer(response)) }
                }, onEnd: { _ in connection.close() })
        }
    }

    var port: Int { listener.localAddress.port }
}
