import ArtifactStore
import Foundation
import Synchronization

/// What an admin server keeps for its browser dashboard: the sessions, the optional read-only
/// token, and (on the edge's admin server) the history sampler behind the charts.
///
/// Why in the admin server rather than a listener of its own: the pages show and act on exactly
/// what the admin API does, with the same TLS, rate limit and token; a session is only another way
/// of presenting that token (`DashboardGate`).
public final class Dashboard: Sendable {
    public let sessions: DashboardSessions
    public let history = DashboardHistory()
    /// When the warm batch last preloaded each app (recorded by the wiring's preloader).
    public let warmLog = DashboardWarmLog()
    private let readToken = Mutex<AdminToken?>(nil)
    private let popularityStore = Mutex<Popularity?>(nil)
    private let sampler = Mutex<Task<Void, Never>?>(nil)

    public init(sessions: DashboardSessions = DashboardSessions()) {
        self.sessions = sessions
    }

    /// Lets this token sign in to a read-only session (nil: only the admin token signs in).
    public func useReadToken(_ token: AdminToken?) {
        readToken.withLock { $0 = token }
    }

    /// The popularity table the Apps page reads (the one the edge's traffic is flushed into, with
    /// the configured half-life); nil until the wiring sets it: the page then shows no popularity.
    public func usePopularity(_ popularity: Popularity?) {
        popularityStore.withLock { $0 = popularity }
    }

    var popularity: Popularity? { popularityStore.withLock { $0 } }

    /// The role a presented sign-in token grants, compared in constant time with each token.
    func role(for presented: String, adminToken: AdminToken) -> DashboardSessions.Role? {
        let bytes = Array(presented.utf8)
        let isAdmin = adminToken.matches(bytes)
        let isReader = readToken.withLock { $0?.matches(bytes) ?? false }
        return isAdmin ? .admin : isReader ? .read : nil
    }

    /// Samples `read` every `DashboardHistory.intervalSeconds` into `history` until `stop()` or
    /// until `read` returns nil (its server is gone); the first sample, taken at once, is the baseline.
    func startSampling(
        every interval: Duration = .seconds(DashboardHistory.intervalSeconds),
        _ read: @escaping @Sendable () -> DashboardHistory.Counters?
    ) {
        let history = self.history
        let task = Task.detached {
            while !Task.isCancelled, let counters = read() {
                history.sample(counters, at: Date().timeIntervalSince1970)
                try? await Task.sleep(for: interval)
            }
        }
        sampler.withLock { old in
            old?.cancel()
            old = task
        }
    }

    /// Stops the sampler (idempotent).
    public func stop() {
        sampler.withLock { task in
            task?.cancel()
            task = nil
        }
    }
}

extension AdminToken {
    /// The environment variable holding the dashboard's read-only token.
    public static let readEnvironmentVariable = "WHARF_READ_TOKEN"
    /// The read-only token's file inside the store (used only if it exists; never created).
    public static let readFileName = "read-token"

    /// The read-only dashboard token: `$WHARF_READ_TOKEN`, else `<store>/read-token` when that
    /// file exists; nil when neither (or either is empty, or the file is not one line under 4 KiB).
    public static func resolveReadToken(
        storePath: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> AdminToken? {
        if let value = environment[readEnvironmentVariable]?.trimmingCharacters(in: .whitespacesAndNewlines) {
            return value.isEmpty ? nil : AdminToken(value, source: .environment)
        }
        let path = (storePath.hasSuffix("/") ? String(storePath.dropLast()) : storePath) + "/" + readFileName
        guard let data = FileManager.default.contents(atPath: path), data.count <= 4096 else { return nil }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty || text.contains("\n") ? nil : AdminToken(text, source: .file(path: path, created: false))
    }
}
