import Foundation
import GRDB

@testable import ArtifactStore

/// A real temporary directory, removed when the value is released.
final class TemporaryDirectory {
    let path: String

    init(_ label: String = "wharf-store-test") {
        var template = Array((NSTemporaryDirectory() + "/\(label)-XXXXXX").utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(created != nil, "mkdtemp failed")
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes a file (creating parent directories) and returns its full path.
    @discardableResult
    func write(_ relative: String, _ bytes: [UInt8]) throws -> String {
        let full = path + "/" + relative
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: full))
        return full
    }

    @discardableResult
    func write(_ relative: String, _ text: String) throws -> String { try write(relative, Array(text.utf8)) }

    func subdirectory(_ name: String) throws -> String {
        let full = path + "/" + name
        try FileManager.default.createDirectory(atPath: full, withIntermediateDirectories: true)
        return full
    }
}

/// Deterministic pseudo-random bytes (incompressible) and repetitive text (compressible).
enum Fixture {
    static func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed &+ 0x9E37_79B9_7F4A_7C15
        var out = [UInt8]()
        out.reserveCapacity(count)
        while out.count < count {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            withUnsafeBytes(of: state) { out.append(contentsOf: $0.prefix(count - out.count)) }
        }
        return out
    }

    static func text(_ count: Int, seed: Int = 0) -> [UInt8] {
        var out = [UInt8]()
        var i = seed
        while out.count < count {
            out.append(contentsOf: Array("function item\(i)(x) { return x * \(i % 97) + \"label-\(i % 13)\"; }\n".utf8))
            i += 1
        }
        return Array(out.prefix(count))
    }
}

/// Everything observable about a store, to prove an operation left it exactly as it was.
struct StoreSnapshot: Equatable {
    var tables: [String: [String]]
    var files: [String]

    static func take(_ store: Store) throws -> StoreSnapshot {
        var tables: [String: [String]] = [:]
        try store.pool.read { db in
            for table in ["apps", "blobs", "variants", "deltas", "deployments", "files", "aliases", "store_state"] {
                tables[table] = try Row.fetchAll(db, sql: "SELECT * FROM \(table)").map { $0.description }.sorted()
            }
        }
        var files: [String] = []
        if let walker = FileManager.default.enumerator(atPath: store.path + "/blobs") {
            while let next = walker.nextObject() as? String { files.append("blobs/" + next) }
        }
        if let walker = FileManager.default.enumerator(atPath: store.path + "/tmp") {
            while let next = walker.nextObject() as? String { files.append("tmp/" + next) }
        }
        return StoreSnapshot(tables: tables, files: files.sorted())
    }
}

extension Store {
    /// Opens a store with small, fast compression settings unless told otherwise.
    static func openForTest(_ directory: TemporaryDirectory, configure: (inout StoreOptions) -> Void = { _ in }) throws -> Store {
        var options = StoreOptions()
        configure(&options)
        return try Store.open(at: directory.path + "/store", options: options)
    }
}
