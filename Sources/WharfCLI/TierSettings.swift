import Foundation
import Tier

/// The `edge.tier.*` keys of a tier edge (`wharf edge --origin URL`); `WHARF_EDGE_TIER_…`
/// variables override them. The origin's read token comes from `$WHARF_ORIGIN_TOKEN`, else the
/// file `edge.tier.token_file` (default `<store>/origin-token`).
struct TierSettings: Equatable {
    /// The origin's admin listener, `https://HOST:PORT` (or `http://` on loopback); empty: not a tier edge.
    var origin = ""
    /// Bytes of fetched blob files kept on disk (LRU eviction beyond).
    var diskBytes: Int64 = 10 << 30
    var fetchTimeoutMs = 10_000
    var maxFetches = 8
    var fullCheckMs = 30_000
    var tokenFile = ""
    /// PEM CA certificates trusted for an https origin; empty: the system's store.
    var caFile = ""

    static let tokenVariable = "WHARF_ORIGIN_TOKEN"

    /// Reads the `TierKeys` into settings; every problem goes to `loader`.
    static func read(_ loader: inout ConfigurationLoader) -> TierSettings {
        var t = TierSettings()
        t.origin = loader.present(TierKeys.origin) ?? t.origin
        t.diskBytes = loader.present(TierKeys.diskBytes).map(Int64.init) ?? t.diskBytes
        t.fetchTimeoutMs = loader.present(TierKeys.fetchTimeoutMs) ?? t.fetchTimeoutMs
        t.maxFetches = loader.present(TierKeys.maxFetches) ?? t.maxFetches
        t.fullCheckMs = loader.present(TierKeys.fullCheckMs) ?? t.fullCheckMs
        t.tokenFile = loader.present(TierKeys.tokenFile) ?? t.tokenFile
        t.caFile = loader.present(TierKeys.caFile) ?? t.caFile
        loader.problems += t.problems()
        return t
    }

    func problems() -> [ConfigurationLoader.Problem] {
        var out: [ConfigurationLoader.Problem] = []
        if !origin.isEmpty {
            do { _ = try OriginURL(origin) } catch { out.append(.init(key: TierKeys.origin.name, reason: "\(error)")) }
        }
        if !caFile.isEmpty, !FileManager.default.isReadableFile(atPath: caFile) {
            out.append(.init(key: TierKeys.caFile.name, reason: "cannot read \(caFile)"))
        }
        // Ranges from the table, for settings made in code (`--origin` and the flags set only strings).
        func check<V>(_ key: SettingKey<V>, _ value: V) { if let r = key.refusal(value) { out.append(.init(key: key.name, reason: r)) } }
        check(TierKeys.diskBytes, Int(diskBytes))
        check(TierKeys.fetchTimeoutMs, fetchTimeoutMs)
        check(TierKeys.maxFetches, maxFetches)
        check(TierKeys.fullCheckMs, fullCheckMs)
        return out
    }

    /// The bearer token the edge presents to its origin (the origin's read token, or its admin token).
    func token(store: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        if let value = environment[Self.tokenVariable]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty { return value }
        let path = tokenFile.isEmpty ? (store.hasSuffix("/") ? store : store + "/") + "origin-token" : tokenFile
        guard let data = FileManager.default.contents(atPath: path), data.count <= 4096 else {
            throw TierTokenMissing(path: path)
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty, !text.contains("\n") else { throw TierTokenMissing(path: path) }
        return text
    }

    var lines: [String] {
        [
            "edge.tier: origin '\(origin)', disk_bytes \(diskBytes), fetch_timeout_ms \(fetchTimeoutMs), max_fetches \(maxFetches), "
                + "full_check_ms \(fullCheckMs), token_file '\(tokenFile)', ca_file '\(caFile)'"
        ]
    }
}

struct TierTokenMissing: Error, CustomStringConvertible {
    var path: String
    var description: String {
        "a tier edge needs the origin's read token: set \(TierSettings.tokenVariable), or put it in \(path) (\(TierKeys.tokenFile.name))"
    }
}
