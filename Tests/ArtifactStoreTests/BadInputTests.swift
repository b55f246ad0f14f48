import Foundation
import Glibc
import Testing

@testable import ArtifactStore

/// Every kind of bad input gets its own error, and the store stays exactly as it was.
@Suite struct BadInputTests {
    /// A store with one good deployment, and a snapshot of it.
    private func preparedStore(_ dir: TemporaryDirectory, configure: (inout StoreOptions) -> Void = { _ in }) throws -> (Store, StoreSnapshot) {
        let store = try Store.openForTest(dir, configure: configure)
        let good = try dir.subdirectory("good")
        try dir.write("good/index.html", "<p>ok</p>")
        try dir.write("good/big.bin", Fixture.randomBytes(70_000, seed: 5))
        try store.publish(PublishRequest(app: "site", directory: good))
        return (store, try StoreSnapshot.take(store))
    }

    private func expectRefused(
        _ expected: StoreError, store: Store, snapshot: StoreSnapshot,
        app: String = "site", directory: String
    ) throws {
        #expect(throws: expected) { try store.publish(PublishRequest(app: app, directory: directory)) }
        #expect(try StoreSnapshot.take(store) == snapshot)
    }

    @Test(arguments: ["", "Site", "-site", "site-", "my_site", "../site", "a/b", "site.example", String(repeating: "a", count: 64), "sïte"])
    func unsafeAppNamesAreRefused(name: String) throws {
        let dir = TemporaryDirectory()
        let (store, snapshot) = try preparedStore(dir)
        try expectRefused(.unsafeAppName(name), store: store, snapshot: snapshot, app: name, directory: dir.path + "/good")
    }

    @Test func aMissingDirectoryIsRefused() throws {
        let dir = TemporaryDirectory()
        let (store, snapshot) = try preparedStore(dir)
        let missing = dir.path + "/nope"
        try expectRefused(.sourceDirectoryMissing(missing), store: store, snapshot: snapshot, directory: missing)
        let file = try dir.write("plain-file", "x")
        try expectRefused(.sourceDirectoryMissing(file), store: store, snapshot: snapshot, directory: file)
    }

    @Test func anEmptyDirectoryIsRefusedEvenWithEmptySubdirectories() throws {
        let dir = TemporaryDirectory()
        let (store, snapshot) = try preparedStore(dir)
        let empty = try dir.subdirectory("empty")
        _ = try dir.subdirectory("empty/nested/deeper")
        try expectRefused(.sourceDirectoryEmpty(empty), store: store, snapshot: snapshot, directory: empty)
    }

    @Test func aSymlinkPointingOutsideTheDirectoryIsRefused() throws {
        let dir = TemporaryDirectory()
        let (store, snapshot) = try preparedStore(dir)
        let source = try dir.subdirectory("evil")
        try dir.write("evil/index.html", "hi")
        let secret = try dir.write("secret.txt", "password")
        try FileManager.default.createSymbolicLink(atPath: source + "/leak.txt", withDestinationPath: "../secret.txt")
        try expectRefused(
            .symlinkEscapesRoot(path: source + "/leak.txt", target: FileSystem.realPath(secret)!),
            store: store, snapshot: snapshot, directory: source)
    }

    @Test func aSymlinkedDirectoryOutsideTheRootIsRefused() throws {
        let dir = TemporaryDirectory()
        let (store, snapshot) = try preparedStore(dir)
        let source = try dir.subdirectory("evil")
        try dir.write("evil/index.html", "hi")
        try FileManager.default.createSymbolicLink(atPath: source + "/etc", withDestinationPath: "/etc")
        #expect(throws: StoreError.symlinkEscapesRoot(path: source + "/etc", target: "/etc")) {
            try store.publish(PublishRequest(app: "site", directory: source))
        }
        #expect(try StoreSnapshot.take(store) == snapshot)
    }

    @Test func aFileOverTheSizeLimitIsRefusedBeforeAnythingIsWritten() throws {
        let dir = TemporaryDirectory()
        let (store, snapshot) = try preparedStore(dir) { $0.maxFileSize = 100_000 }
        let source = try dir.subdirectory("huge")
        try dir.write("huge/a-first.bin", Fixture.randomBytes(90_000, seed: 6))
        try dir.write("huge/z-last.bin", Fixture.randomBytes(100_001, seed: 7))
        try expectRefused(
            .fileTooLarge(path: source + "/z-last.bin", size: 100_001, limit: 100_000),
            store: store, snapshot: snapshot, directory: source)
    }

    @Test func aDanglingSymlinkIsAnUnreadableFile() throws {
        let dir = TemporaryDirectory()
        let (store, snapshot) = try preparedStore(dir)
        let source = try dir.subdirectory("broken")
        try dir.write("broken/index.html", "hi")
        try FileManager.default.createSymbolicLink(atPath: source + "/gone.js", withDestinationPath: "missing.js")
        try expectRefused(
            .unreadableFile(path: source + "/gone.js", reason: "dangling symbolic link"),
            store: store, snapshot: snapshot, directory: source)
    }

    @Test func aFIFOIsNotARegularFile() throws {
        let dir = TemporaryDirectory()
        let (store, snapshot) = try preparedStore(dir)
        let source = try dir.subdirectory("fifo")
        try dir.write("fifo/index.html", "hi")
        #expect(mkfifo(source + "/pipe", 0o644) == 0)
        try expectRefused(.notARegularFile(source + "/pipe"), store: store, snapshot: snapshot, directory: source)
    }

    @Test func aFileNameWithControlCharactersIsRefused() throws {
        let dir = TemporaryDirectory()
        let (store, snapshot) = try preparedStore(dir)
        let source = try dir.subdirectory("names")
        try dir.write("names/index.html", "hi")
        try dir.write("names/bad\nname.js", "x")
        try expectRefused(.unsafeFileName(source + "/bad\nname.js"), store: store, snapshot: snapshot, directory: source)
    }

    @Test func optionsBrowsersCannotDecodeAreRefusedAtOpen() throws {
        let dir = TemporaryDirectory()
        #expect(throws: StoreError.self) { try Store.openForTest(dir) { $0.zstdWindowLog = 24 } }
        #expect(throws: StoreError.self) { try Store.openForTest(dir) { $0.brotliWindowBits = 30 } }
        #expect(throws: StoreError.self) { try Store.openForTest(dir) { $0.hashedNamePattern = "([" } }
        #expect(throws: StoreError.self) { try Store.openForTest(dir) { $0.minVariantSavings = 1.5 } }
    }
}
