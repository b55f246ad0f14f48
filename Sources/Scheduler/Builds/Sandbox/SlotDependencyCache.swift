import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A slot's dependency cache on disk: one directory per dependency hash (lock files + toolchain, as
/// the queue computes it) under `<root>/<slot id>/deps/`, given to a build as `$WHARF_DEPS_CACHE`
/// (read-write), kept across builds on the slot, bounded in bytes with least-recently-used eviction
/// (the directory's modification time is its last use). Two apps share an entry only when their
/// hashes match. Its list of hashes is what the scheduler's warm/cold placement reads.
struct SlotDependencyCache: Sendable {
    public let root: String
    let slotID: String
    let capacityBytes: Int

    init(root: String, slotID: String, capacityBytes: Int) {
        self.root = root
        self.slotID = slotID
        self.capacityBytes = capacityBytes
    }

    var directory: String { root + "/" + Self.safeName(slotID) + "/deps" }

    public func path(for hash: String) -> String { directory + "/" + Self.safeName(hash) }

    /// Slot ids and hashes become single path components (anything but `[A-Za-z0-9._-]` turns into `_`).
    static func safeName(_ text: String) -> String {
        let mapped = String(
            text.unicodeScalars.map { scalar -> Character in
                scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "._-".unicodeScalars.contains(scalar))
                    ? Character(scalar) : "_"
            })
        return mapped.isEmpty || mapped == "." || mapped == ".." ? "_" : mapped
    }

    /// Makes the entry for `hash` if it is missing, owned by `identity` (mode 0700); returns its path
    /// and whether it was there already (a warm start).
    public func prepare(_ hash: String, for identity: BuildIdentity?) throws -> (path: String, warm: Bool) {
        let path = path(for: hash)
        var isDirectory: ObjCBool = false
        let warm = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
        if !warm {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o711])
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        }
        if let identity { try Ownership.give(path, to: identity, recursive: false) }
        touch(path)
        return (path, warm)
    }

    /// Marks the entry as just used.
    func touch(_ path: String) { utimes(path, nil) }

    /// Hashes on this slot, least recently used first.
    func hashes() -> [String] { entries().map(\.name) }

    private func entries() -> [(name: String, used: Double)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name -> (String, Double)? in
            var info = stat()
            guard lstat(directory + "/" + name, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else { return nil }
            return (name, Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9)
        }.sorted { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }
    }

    /// Total bytes held.
    public func bytes() -> Int { DirectoryUsage.bytes(directory) }

    /// Removes least recently used entries until the cache fits its capacity; `keep` (the entry just
    /// used) goes last, and only when it alone is over the capacity. Returns the removed hashes.
    @discardableResult
    func evict(keep: String? = nil) -> [String] {
        var sized = entries().map { (name: $0.name, bytes: DirectoryUsage.bytes(directory + "/" + $0.name)) }
        if let keep, let at = sized.firstIndex(where: { $0.name == Self.safeName(keep) }) { sized.append(sized.remove(at: at)) }
        var total = sized.reduce(0) { $0 + $1.bytes }
        var removed: [String] = []
        for entry in sized where total > capacityBytes {
            try? FileManager.default.removeItem(atPath: directory + "/" + entry.name)
            total -= entry.bytes
            removed.append(entry.name)
        }
        return removed
    }
}

/// Gives files to the build user (`lchown`, never following a link the build may have planted).
public enum Ownership {
    static func give(_ path: String, to identity: BuildIdentity, recursive: Bool = true) throws {
        if lchown(path, identity.uid, identity.gid) != 0 {
            throw SchedulerError.invalidConfiguration("cannot give \(path) to \(identity.name): \(String(cString: strerror(errno)))")
        }
        guard recursive else { return }
        var pending = [path]
        while let directory = pending.popLast() {
            var info = stat()
            guard lstat(directory, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else { continue }
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
                let child = directory + "/" + name
                _ = lchown(child, identity.uid, identity.gid)
                pending.append(child)
            }
        }
    }
}
