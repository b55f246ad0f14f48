internal import COpenSSL
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The keys that seal session tickets (stateless resumption), shared by every loop of the
/// process and carried across certificate reloads. A key seals new tickets for `rotationSeconds`,
/// then is kept one more period to open the tickets it sealed (which are renewed under the new
/// key), then dropped: a stolen key exposes at most two periods of sessions. Each key is 16 bytes
/// of name (sent in clear in the ticket), 32 of AES-256 key, 32 of HMAC-SHA256 key, all random.
final class TicketKeyRing: @unchecked Sendable {  // `cipher` is immutable and thread-safe once fetched
    struct Key: Sendable {
        var name: [UInt8]
        var aes: [UInt8]
        var hmac: [UInt8]
        var createdSeconds: UInt64
    }

    let rotationSeconds: UInt64
    /// AES-256-CBC fetched from the provider once (OpenSSL 3 would otherwise look the
    /// implementation up again on every ticket).
    let cipher: OpaquePointer
    /// Newest first; at most two.
    private let keys: Mutex<[Key]>

    init(rotationSeconds: Int) {
        self.rotationSeconds = UInt64(max(1, rotationSeconds))
        cipher = EVP_CIPHER_fetch(nil, "AES-256-CBC", nil)!
        keys = Mutex([TicketKeyRing.makeKey(now: TicketKeyRing.now())])
    }

    deinit { EVP_CIPHER_free(cipher) }

    static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec)
    }

    static func makeKey(now: UInt64) -> Key {
        var bytes = [UInt8](repeating: 0, count: 80)
        precondition(RAND_bytes(&bytes, 80) == 1, "the OpenSSL random generator failed")
        return Key(name: Array(bytes[0..<16]), aes: Array(bytes[16..<48]), hmac: Array(bytes[48..<80]), createdSeconds: now)
    }

    /// The key that seals new tickets, rotating first when it has served its period.
    func current(now: UInt64 = TicketKeyRing.now()) -> Key {
        keys.withLock { ring in
            if now &- ring[0].createdSeconds >= rotationSeconds { rotate(&ring, now: now) }
            return ring[0]
        }
    }

    /// The key named `name`, and whether it is the current one (else the ticket is renewed).
    func find(_ name: UnsafeBufferPointer<UInt8>, now: UInt64 = TicketKeyRing.now()) -> (Key, isCurrent: Bool)? {
        keys.withLock { ring in
            if now &- ring[0].createdSeconds >= rotationSeconds { rotate(&ring, now: now) }
            for (index, key) in ring.enumerated() where key.name.elementsEqual(name) {
                return (key, index == 0)
            }
            return nil
        }
    }

    /// Starts a new period now (tests, and operators who want it).
    func rotateNow() {
        keys.withLock { rotate(&$0, now: TicketKeyRing.now()) }
    }

    private func rotate(_ ring: inout [Key], now: UInt64) {
        ring.insert(TicketKeyRing.makeKey(now: now), at: 0)
        if ring.count > 2 { ring.removeLast(ring.count - 2) }
    }

    var currentName: [UInt8] { keys.withLock { $0[0].name } }
}

/// OpenSSL's ticket-key callback (RFC 5077 §4 sealing with AES-256-CBC + HMAC-SHA256): `enc` 1
/// seals with the current key; 0 opens with the named key (0: unknown, full handshake; 1: current;
/// 2: previous, so OpenSSL issues a fresh ticket).
func ticketKeyCallback(
    _ ssl: OpaquePointer?, _ name: UnsafeMutablePointer<UInt8>?, _ iv: UnsafeMutablePointer<UInt8>?,
    _ cipher: OpaquePointer?, _ mac: OpaquePointer?, _ enc: Int32
) -> Int32 {
    guard let ssl, let name, let iv, let cipher, let mac, let context = SSL_get_SSL_CTX(ssl),
        let raw = wharf_SSL_CTX_get_app_data(context)
    else { return -1 }
    let ring = Unmanaged<TicketKeyRing>.fromOpaque(raw).takeUnretainedValue()
    if enc == 1 {
        let key = ring.current()
        guard RAND_bytes(iv, 16) == 1 else { return -1 }
        name.update(from: key.name, count: 16)
        guard EVP_EncryptInit_ex(cipher, ring.cipher, nil, key.aes, iv) == 1,
            wharf_ticket_mac_init(mac, key.hmac, key.hmac.count) == 1
        else { return -1 }
        return 1
    }
    guard let (key, isCurrent) = ring.find(UnsafeBufferPointer(start: name, count: 16)) else { return 0 }
    guard EVP_DecryptInit_ex(cipher, ring.cipher, nil, key.aes, iv) == 1,
        wharf_ticket_mac_init(mac, key.hmac, key.hmac.count) == 1
    else { return -1 }
    return isCurrent ? 1 : 2
}
