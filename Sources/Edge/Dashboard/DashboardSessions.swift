import Foundation
import Glibc
import Synchronization

/// The dashboard's signed-in browsers: random session ids (the cookie) mapped to a role and a
/// CSRF token, held in memory only (a restart signs everyone out, which is the safe default for a
/// control surface).
///
/// Bounded three ways: at most `Limits.maxSessions` at once (signing in past it drops the least
/// recently used), an idle expiry and an absolute expiry. Failed sign-ins are counted in a
/// sliding minute shared by every client; over `maxFailuresPerMinute` every sign-in attempt is
/// answered 429 until the minute passes, so guessing a 256-bit token is not only infeasible but
/// slow (the admin listener's per-address rate limit, when configured, applies before this).
public final class DashboardSessions: Sendable {
    /// What a session may do.
    public enum Role: String, Sendable, Equatable {
        /// Signed in with the admin token: every page and every action.
        case admin
        /// Signed in with the read token: pages and their GET data, no action.
        case read
    }

    public struct Limits: Sendable {
        public var maxSessions = 64
        /// A session unused for this long is gone.
        public var idleSeconds: Double = 30 * 60
        /// A session older than this is gone however busy.
        public var absoluteSeconds: Double = 12 * 3600
        public var maxFailuresPerMinute = 20
        public init() {}
    }

    public struct Session: Sendable, Equatable {
        /// 64 hex digits from the system CSPRNG: the cookie value.
        public var id: String
        /// 64 hex digits: what every POST of this session must carry (header or form field).
        public var csrf: String
        public var role: Role
        var created: Double
        var lastUsed: Double
    }

    public let limits: Limits
    private let clock: @Sendable () -> Double
    private let table = Mutex<[String: Session]>([:])
    private let failures = Mutex<[Double]>([])

    /// `clock`: seconds on a monotonic scale (tests pass their own to expire sessions).
    public init(limits: Limits = Limits(), clock: @escaping @Sendable () -> Double = DashboardSessions.monotonicSeconds) {
        self.limits = limits
        self.clock = clock
    }

    public static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// A new session with fresh id and CSRF token; `replacing` (the id the browser sent, if any)
    /// is ended first, so an id planted before sign-in never becomes a signed-in one.
    public func create(role: Role, replacing old: String? = nil) -> Session {
        let now = clock()
        let session = Session(id: AdminToken.generate(), csrf: AdminToken.generate(), role: role, created: now, lastUsed: now)
        table.withLock { sessions in
            if let old { sessions.removeValue(forKey: old) }
            sessions = sessions.filter { !isExpired($0.value, now) }
            while sessions.count >= limits.maxSessions,
                let oldest = sessions.min(by: { $0.value.lastUsed < $1.value.lastUsed })
            {
                sessions.removeValue(forKey: oldest.key)
            }
            sessions[session.id] = session
        }
        return session
    }

    /// The live session with this id (its idle clock restarted), or nil (unknown or expired; an
    /// expired one is removed).
    public func session(_ id: String) -> Session? {
        guard id.utf8.count == 64 else { return nil }
        let now = clock()
        return table.withLock { sessions in
            guard var session = sessions[id] else { return nil }
            if isExpired(session, now) {
                sessions.removeValue(forKey: id)
                return nil
            }
            session.lastUsed = now
            sessions[id] = session
            return session
        }
    }

    /// Signs a session out; true if it existed.
    @discardableResult
    public func end(_ id: String) -> Bool {
        table.withLock { $0.removeValue(forKey: id) != nil }
    }

    public var count: Int { table.withLock { $0.count } }

    private func isExpired(_ s: Session, _ now: Double) -> Bool {
        now - s.lastUsed > limits.idleSeconds || now - s.created > limits.absoluteSeconds
    }

    /// False when sign-in attempts are being refused (too many failures in the last minute).
    public func signInAllowed() -> Bool {
        let now = clock()
        return failures.withLock { list in
            list.removeAll { now - $0 > 60 }
            return list.count < limits.maxFailuresPerMinute
        }
    }

    /// Counts a failed sign-in (bounded: only the last minute's are kept, at most the limit).
    public func recordFailure() {
        let now = clock()
        failures.withLock { list in
            list.removeAll { now - $0 > 60 }
            if list.count < limits.maxFailuresPerMinute { list.append(now) }
        }
    }
}
