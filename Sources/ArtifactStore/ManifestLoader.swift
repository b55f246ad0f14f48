import Foundation
import GRDB
import HTTPCore

/// Reads a deployment and its files, blobs and variants back into a `DeploymentManifest`.
/// ETags are derived from content hashes, so they need no storage and are stable by design.
enum ManifestLoader {
    static func load(_ db: Database, id: String, options: StoreOptions) throws -> DeploymentManifest? {
        guard
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT id, app, version, message, metadata, created_at, entry_point FROM deployments WHERE id = ?
                    """, arguments: [id])
        else { return nil }
        let metadataJSON: String = row["metadata"]
        let metadata = (try? JSONDecoder().decode([String: String].self, from: Data(metadataJSON.utf8))) ?? [:]

        var variantsBySource: [String: [VariantInfo]] = [:]
        let variantRows = try Row.fetchCursor(
            db,
            sql: """
                SELECT v.source_hash, v.coding, v.blob_hash, b.size FROM variants v
                JOIN blobs b ON b.hash = v.blob_hash
                WHERE v.source_hash IN (SELECT blob_hash FROM files WHERE deployment_id = ?)
                """, arguments: [id])
        while let v = try variantRows.next() {
            let source: String = v["source_hash"]
            let coding: String = v["coding"]
            let hash: String = v["blob_hash"]
            variantsBySource[source, default: []].append(
                VariantInfo(coding: coding, size: v["size"], etag: ETag.variant(source: source, coding: coding, variant: hash), hash: hash))
        }

        let dictionaries = DictionarySetting.isEnabled(metadata: metadata)
        var deltasBySource: [String: [DeltaInfo]] = [:]
        if dictionaries {
            let deltaRows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT d.source_hash, d.dictionary_hash, d.coding, d.blob_hash, b.size FROM deltas d
                    JOIN blobs b ON b.hash = d.blob_hash
                    WHERE d.source_hash IN (SELECT blob_hash FROM files WHERE deployment_id = ?)
                    ORDER BY d.dictionary_hash
                    """, arguments: [id])
            while let d = try deltaRows.next() {
                let source: String = d["source_hash"]
                let coding: String = d["coding"]
                let hash: String = d["blob_hash"]
                deltasBySource[source, default: []].append(
                    DeltaInfo(
                        dictionaryHash: d["dictionary_hash"], coding: coding, size: d["size"],
                        etag: ETag.variant(source: source, coding: coding, variant: hash), hash: hash))
            }
        }
        let hashedName = try? Regex(options.hashedNamePattern)
        let listed = DictionarySetting.listedPaths(metadata: metadata)

        var files: [String: ManifestEntry] = [:]
        let fileRows = try Row.fetchCursor(
            db,
            sql: """
                SELECT f.path, f.blob_hash, b.size, f.content_type, f.last_modified, f.cache_control, f.preload_hints
                FROM files f JOIN blobs b ON b.hash = f.blob_hash WHERE f.deployment_id = ?
                """, arguments: [id])
        while let f = try fileRows.next() {
            let hash: String = f["blob_hash"]
            let hintsJSON: String = f["preload_hints"]
            let hints = (try? JSONDecoder().decode([PreloadHint].self, from: Data(hintsJSON.utf8))) ?? []
            let contentType: String = f["content_type"]
            // Variants belong to bytes; a path whose type is never compressed (the same bytes
            // published as .png) does not offer them.
            let variants =
                MediaType.isCompressible(contentType)
                ? (variantsBySource[hash] ?? []).sorted { VariantCoding.rank($0.coding) < VariantCoding.rank($1.coding) }
                : []
            let path: String = f["path"]
            var useAsDictionary: String? = nil
            if dictionaries, DictionaryPattern.isDictionaryType(contentType), let hashedName,
                let pattern = DictionaryPattern.of(path: path, hashedName: hashedName, listed: listed)
            {
                useAsDictionary =
                    UseAsDictionary(
                        match: pattern.relative,
                        matchDestinations: DictionaryPattern.destination(contentType: contentType).map { [$0] } ?? [])?.fieldValue
            }
            files[path] = ManifestEntry(
                path: path, blobHash: hash, size: f["size"], contentType: contentType,
                lastModified: f["last_modified"], cacheControl: f["cache_control"],
                etag: ETag.identity(hash), variants: variants, preloadHints: hints,
                useAsDictionary: useAsDictionary,
                // Deltas are offered where the asset is versioned: the same bytes under another
                // name are not what a browser's dictionary pattern points at.
                deltas: useAsDictionary != nil ? deltasBySource[hash] ?? [] : [])
        }
        return DeploymentManifest(
            id: row["id"], app: row["app"], version: row["version"], message: row["message"],
            createdAt: row["created_at"], metadata: metadata, files: files, entryPoint: row["entry_point"])
    }
}

/// Strong entity tags (RFC 9110 §8.8.3) derived from content hashes: the identity tag from
/// the blob's SHA-256, each variant's from the source hash, the coding and the variant's own
/// hash, so tags differ per encoding and stay equal across republishes of identical bytes.
public enum ETag {
    public static func identity(_ hash: String) -> String { "\"\(hash.prefix(32))\"" }

    public static func variant(source: String, coding: String, variant: String) -> String {
        "\"\(source.prefix(32))-\(coding)-\(variant.prefix(8))\""
    }
}

/// The content codings the store precomputes, in preference order (smallest first, usually).
enum VariantCoding {
    public static let all = ["br", "zstd", "gzip"]
    static func rank(_ coding: String) -> Int { all.firstIndex(of: coding) ?? all.count }
}
