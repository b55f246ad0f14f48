import CLibPQ
import Foundation
import Synchronization

/// `LISTEN channel` on a connection of its own, on a thread of its own: waits on the socket
/// (`poll`, 200 ms at a time so `stop()` is prompt), reads with `PQconsumeInput` and hands every
/// notification's payload to `onNotify`. When the connection is lost it reconnects (backing off up to
/// 5 s) and calls `onNotify(nil)`: notifications sent meanwhile are lost, so the listener's owner
/// should resynchronise in full.
public final class PostgresListener: Sendable {
    /// Shared with the listening thread: the stop request and the thread's end.
    final class State: Sendable {
        let stopped = Atomic<Bool>(false)
        let finished = DispatchSemaphore(value: 0)
    }

    private let state = State()

    /// Starts listening; `channel` is a lower-case identifier (`[a-z_][a-z0-9_]*`).
    public init(url: PostgresURL, channel: String, onNotify: @escaping @Sendable (String?) -> Void) throws {
        guard let first = channel.utf8.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first) || first == UInt8(ascii: "_"),
            channel.utf8.count <= 63,
            channel.utf8.allSatisfy({
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                    || $0 == UInt8(ascii: "_")
            })
        else { throw PostgresError(kind: .statement, message: "invalid channel name '\(channel)'") }
        let connection = try PostgresConnection(url: url, applicationName: "wharf-listen")
        try connection.query("LISTEN \(channel)")
        let state = self.state
        let thread = Thread {
            Self.run(first: connection, url: url, channel: channel, state: state, onNotify: onNotify)
            state.finished.signal()
        }
        thread.name = "wharf-pg-listen"
        thread.start()
    }

    /// Stops the thread and closes its connection (returns once it has).
    public func stop() {
        guard !state.stopped.exchange(true, ordering: .relaxed) else { return }
        state.finished.wait()
    }

    deinit { stop() }

    private static func run(
        first: PostgresConnection, url: PostgresURL, channel: String, state: State,
        onNotify: @Sendable (String?) -> Void
    ) {
        var connection: PostgresConnection? = first
        var backoff = 0.1
        while !state.stopped.load(ordering: .relaxed) {
            guard let live = connection else {
                Thread.sleep(forTimeInterval: backoff)
                backoff = min(backoff * 2, 5)
                if let fresh = try? PostgresConnection(url: url, applicationName: "wharf-listen"),
                    (try? fresh.query("LISTEN \(channel)")) != nil
                {
                    connection = fresh
                    backoff = 0.1
                    onNotify(nil)
                }
                continue
            }
            switch live.waitForNotifications(milliseconds: 200) {
            case .some(let payloads): for payload in payloads { onNotify(payload) }
            case .none: connection = nil
            }
        }
    }
}

extension PostgresConnection {
    /// Waits up to `milliseconds` for input, then returns the payloads of the notifications received
    /// (possibly none); nil when the connection is broken.
    func waitForNotifications(milliseconds: Int32) -> [String]? {
        withHandle { handle -> [String]? in
            guard let handle, PQstatus(handle) == CONNECTION_OK else { return nil }
            var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
            guard descriptor.fd >= 0 else { return nil }
            let ready = poll(&descriptor, 1, milliseconds)
            if ready < 0 { return errno == EINTR ? [] : nil }
            if ready == 0 { return [] }
            guard PQconsumeInput(handle) == 1 else { return nil }
            var payloads: [String] = []
            while let notification = PQnotifies(handle) {
                payloads.append(String(cString: notification.pointee.extra))
                PQfreemem(notification)
            }
            return payloads
        }
    }
}
