import Configuration
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

    static func read(_ loader: ConfigurationLoader) -> (TierSettings, [ConfigurationLoader.Problem]) {
        var t = TierSettings()
        var problems: [ConfigurationLoader.Problem] = []
        func int(_ key: String) -> Int? {
            do { return try loader.reader.requiredInt(forKey: ConfigKey(key)) } catch {
                let text = String(describing: error)
                if !text.hasPrefix("Missing required config value") { problems.append(.init(key: key, reason: "expected an integer (\(text))")) }
                return nil
            }
        }
        func string(_ key: String) -> String? {
            do { return try loader.reader.requiredString(forKey: ConfigKey(key)) } catch {
                let text = String(describing: error)
                if !text.hasPrefix("Missing required config value") { problems.append(.init(key: key, reason: "expected a string (\(text))")) }
                return nil
            }
        }
        t.origin = string("edge.tier.origin") ?? t.origin
        t.diskBytes = int("edge.tier.disk_bytes").map(Int64.init) ?? t.diskBytes
        t.fetchTimeoutMs = int("edge.tier.fetch_timeout_ms") ?? t.fetchTimeoutMs
        t.maxFetches = int("edge.tier.max_fetches") ?? t.maxFetches
        t.fullCheckMs = int("edge.tier.full_check_ms") ?? t.fullCheckMs
        t.tokenFile = string("edge.tier.token_file") ?? t.tokenFile
        t.caFile = string("edge.tier.ca_file") ?? t.caFile
        problems += t.problems()
        return (t, problems)
    }

    func problems() -> [ConfigurationLoader.Problem] {
        var out: [ConfigurationLoader.Problem] = []
        if !origin.isEmpty {
            do { _ = try OriginURL(origin) } catch { out.append(.init(key: "edge.tier.origin", reason: "\(error)")) }
        }
        if !caFile.isEmpty, !FileManager.default.isReadableFile(atPath: caFile) {
            out.append(.init(key: "edge.tier.ca_file", reason: "cannot read \(caFile)"))
        }
        if diskBytes < 1 << 20 { out.append(.init(key: "edge.tier.disk_bytes", reason: "must be at least 1048576")) }
        if !(100...600_000).contains(fetchTimeoutMs) { out.append(.init(key: "edge.tier.fetch_timeout_ms", reason: "must be 100...600000")) }
        if !(1...256).contains(maxFetches) { out.append(.init(key: "edge.tier.max_fetches", reason: "must be 1...256")) }
        if !(1000...86_400_000).contains(fullCheckMs) { out.append(.init(key: "edge.tier.full_check_ms", reason: "must be 1000...86400000")) }
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
        ["edge.tier: origin '\(origin)', disk_bytes \(diskBytes), fetch_timeout_ms \(fetchTimeoutMs), max_fetches \(maxFetches), "
            + "full_check_ms \(fullCheckMs), token_file '\(tokenFile)', ca_file '\(caFile)'"]
    }
}

struct TierTokenMissing: Error, CustomStringConvertible {
    var path: String
    var description: String {
        "a tier edge needs the origin's read token: set \(TierSettings.tokenVariable), or put it in \(path) (edge.tier.token_file)"
    }
}
