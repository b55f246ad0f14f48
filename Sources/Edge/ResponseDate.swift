/// The current second's `Date` field in the three endings a response head can have, built once
/// per second per loop: a prebuilt head (`ServedFile.Representation.okHead`) plus one of these
/// tails is a complete head, written as two buffers with no per-request assembly. A class: a
/// request takes one reference to it, not one per array.
final class ResponseDate {
    /// The IMF-fixdate itself (`Sun, 06 Nov 1994 08:49:37 GMT`).
    let imfFixdate: [UInt8]
    /// `Date: …\r\n\r\n`: an HTTP/1.1 keep-alive response.
    let keepAliveTail: [UInt8]
    /// `Date: …\r\nConnection: close\r\n\r\n`.
    let closeTail: [UInt8]
    /// `Date: …\r\nConnection: keep-alive\r\n\r\n`: an HTTP/1.0 client that asked to keep alive.
    let http10KeepAliveTail: [UInt8]

    init(imfFixdate: [UInt8]) {
        self.imfFixdate = imfFixdate
        let date = Array("Date: ".utf8) + imfFixdate + Array("\r\n".utf8)
        keepAliveTail = date + Array("\r\n".utf8)
        closeTail = date + Array("Connection: close\r\n\r\n".utf8)
        http10KeepAliveTail = date + Array("Connection: keep-alive\r\n\r\n".utf8)
    }

    /// The tail for a response's connection decision.
    func tail(close: Bool, http10KeepAlive: Bool) -> [UInt8] {
        close ? closeTail : (http10KeepAlive ? http10KeepAliveTail : keepAliveTail)
    }
}
