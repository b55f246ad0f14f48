import Configuration
import Synchronization

/// A provider in front of another that remembers every key asked of it. The known keys are the key
/// table's (`ConfigKeyTable`); the recorder adds the ones only the configuration itself names, the
/// limits of the apps listed in `scheduler.limits.apps` (`scheduler.limits.app.<app>.*`), which the
/// loader asks for once it has read that list. The async requirements are
/// `nonisolated(nonsending)`, as swift-configuration declares them.
struct ConfigKeyRecorder: ConfigProvider {
    let inner: any ConfigProvider
    let asked: KeySet

    /// The keys asked so far, shared by every recorder of one loader.
    final class KeySet: Sendable {
        private let keys = Mutex<Set<String>>([])
        func insert(_ key: AbsoluteConfigKey) {
            let name = key.components.joined(separator: ".")
            keys.withLock { _ = $0.insert(name) }
        }
        var all: Set<String> { keys.withLock { $0 } }
    }

    var providerName: String { inner.providerName }

    func value(forKey key: AbsoluteConfigKey, type: ConfigType) throws -> LookupResult {
        asked.insert(key)
        return try inner.value(forKey: key, type: type)
    }

    nonisolated(nonsending) func fetchValue(forKey key: AbsoluteConfigKey, type: ConfigType) async throws -> LookupResult {
        asked.insert(key)
        return try await inner.fetchValue(forKey: key, type: type)
    }

    nonisolated(nonsending) func watchValue<Return: ~Copyable>(
        forKey key: AbsoluteConfigKey, type: ConfigType,
        updatesHandler: nonisolated(nonsending) (_ updates: ConfigUpdatesAsyncSequence<Result<LookupResult, any Error>, Never>) async throws -> Return
    ) async throws -> Return {
        asked.insert(key)
        return try await inner.watchValue(forKey: key, type: type, updatesHandler: updatesHandler)
    }

    func snapshot() -> any ConfigSnapshot { inner.snapshot() }

    nonisolated(nonsending) func watchSnapshot<Return: ~Copyable>(
        updatesHandler: nonisolated(nonsending) (_ updates: ConfigUpdatesAsyncSequence<any ConfigSnapshot, Never>) async throws -> Return
    ) async throws -> Return {
        try await inner.watchSnapshot(updatesHandler: updatesHandler)
    }
}
