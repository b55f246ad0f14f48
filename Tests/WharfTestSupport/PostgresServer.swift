import Foundation
import Glibc
import Synchronization

/// A private PostgreSQL server for tests and benchmarks: `initdb` from Debian's
/// `/usr/lib/postgresql/<version>/bin` into a fresh temporary directory, started with `pg_ctl -w` on
/// a free 127.0.0.1 port (its Unix socket in the same directory), stopped and deleted by `stop()`.
/// PostgreSQL refuses to run as root, so when this process is root the server runs as `nobody`
/// (through `runuser`), with its directory chowned to it. Authentication is `trust` for the one
/// superuser `wharf`: the server listens on loopback only and lives as long as the test process.
///
/// Tests share one server per process (`shared()`, stopped at exit) and take a database each
/// (`createDatabase()`), which keeps the suite fast: a server starts in about a second.
public final class PostgresServer: Sendable {
    public let port: Int
    public let directory: String
    private let binaries: String
    private let runAs: String?
    private let stopped = Atomic<Bool>(false)

    /// Why a server could not be started (PostgreSQL not installed, initdb or start-up failed).
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Initialises and starts a server. `durable: false` turns `fsync` off (tests: nothing needs to
    /// survive a power cut); benchmarks of durable writes keep it on.
    public init(durable: Bool = false) throws {
        guard let binaries = Self.binaryDirectory() else {
            throw Failure(description: "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run `make deps`")
        }
        self.binaries = binaries
        runAs = geteuid() == 0 ? "nobody" : nil
        // The server's user must pass through the parent: a private TMPDIR would lock it out, so use /tmp then.
        var parent = NSTemporaryDirectory()
        var info = stat()
        if runAs != nil, stat(parent, &info) != 0 || info.st_mode & 0o001 == 0 { parent = "/tmp/" }
        directory = parent + "wharf-pg-" + UUID().uuidString
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o755])
        if runAs != nil {
            // nobody:nogroup; the parents (the temporary directory) are world-traversable.
            guard chown(directory, 65534, 65534) == 0 else { throw Failure(description: "chown \(directory) failed: errno \(errno)") }
        }
        port = try Self.freePort()
        do {
            try run("initdb", ["-D", directory + "/data", "-U", "wharf", "--auth=trust", "-E", "UTF8", "--no-sync"])
            let options =
                "-p \(port) -k \(directory) -c listen_addresses=127.0.0.1 -c max_connections=200"
                + (durable ? "" : " -c fsync=off -c synchronous_commit=off -c full_page_writes=off")
            try run("pg_ctl", ["-D", directory + "/data", "-w", "-t", "60", "-l", directory + "/server.log", "-o", options, "start"])
        } catch {
            let log = (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? ""
            try? FileManager.default.removeItem(atPath: directory)
            throw Failure(description: "\(error)\n\(log)")
        }
    }

    /// The URL of `database` on this server.
    public func url(database: String = "postgres") -> String { "postgres://wharf@127.0.0.1:\(port)/\(database)" }

    /// Creates a fresh database (named `prefix` and a random suffix) and returns its URL.
    public func createDatabase(prefix: String = "t") throws -> String {
        let name = prefix + "_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        try sql("CREATE DATABASE \(name)")
        return url(database: name)
    }

    /// Runs one SQL command through `psql` as the superuser (database `postgres`).
    public func sql(_ command: String, database: String = "postgres") throws {
        try run(
            "psql",
            [
                "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", String(port), "-U", "wharf",
                "-d", database, "-c", command,
            ], asServerUser: false)
    }

    /// Runs one SQL query through `psql` and returns its unaligned, tuples-only output.
    public func query(_ command: String, database: String) throws -> String {
        try run(
            "psql",
            [
                "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", String(port), "-U", "wharf",
                "-d", database, "-c", command,
            ], asServerUser: false)
    }

    /// Stops the server (fast shutdown) and deletes its directory. Safe to call twice.
    public func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        _ = try? run("pg_ctl", ["-D", directory + "/data", "-w", "-t", "30", "-m", "fast", "stop"])
        try? FileManager.default.removeItem(atPath: directory)
    }

    deinit { stop() }

    // MARK: - One per process

    private static let sharedServer = Mutex<Result<PostgresServer, Failure>?>(nil)

    /// The process's shared server, started on first use and stopped when the process exits.
    public static func shared() throws -> PostgresServer {
        try sharedServer.withLock { slot in
            if let slot { return try slot.get() }
            let result: Result<PostgresServer, Failure>
            do { result = .success(try PostgresServer()) } catch {
                result = .failure(error as? Failure ?? Failure(description: "\(error)"))
            }
            slot = result
            if case .success = result { atexit { PostgresServer.stopShared() } }
            return try result.get()
        }
    }

    private static func stopShared() {
        let server = sharedServer.withLock { slot in try? slot?.get() }
        server?.stop()
    }

    // MARK: - Helpers

    /// The newest installed version's binaries.
    static func binaryDirectory() -> String? {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
        return versions.reversed().map { "\(root)/\($0)/bin" }.first { FileManager.default.isExecutableFile(atPath: $0 + "/initdb") }
    }

    /// A port free on 127.0.0.1 now (bound, read, released).
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw Failure(description: "bind failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Runs one of the server's programs (as the server's user unless `asServerUser` is false),
    /// bounded to 120 s; returns its output, throws with its output on failure. Spawned and reaped
    /// with posix_spawn/waitpid rather than Foundation's Process, whose reaping of `runuser` was
    /// seen to hang under the test runner (the child left a zombie while `isRunning` stayed true).
    @discardableResult
    private func run(_ program: String, _ arguments: [String], asServerUser: Bool = true) throws -> String {
        // `env -C`: run in the server's directory (the caller's may be closed to the server's user).
        let inDirectory = ["/usr/bin/env", "-C", directory, binaries + "/" + program] + arguments
        let argv: [String] = if let runAs, asServerUser { ["/usr/sbin/runuser", "-u", runAs, "--"] + inDirectory } else { inDirectory }
        let output = directory + "/" + program + "-" + UUID().uuidString + ".out"
        defer { unlink(output) }
        let fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Failure(description: "cannot create \(output): errno \(errno)") }
        if runAs != nil { fchown(fd, 65534, 65534) }
        defer { close(fd) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, fd, 1)
        posix_spawn_file_actions_adddup2(&actions, fd, 2)
        let environment = ["PATH=/usr/bin:/bin", "LC_ALL=C", "PGCONNECT_TIMEOUT=10"]
        var pid: pid_t = 0
        let spawned = withCStringArray(argv) { cArgv in
            withCStringArray(environment) { cEnv in posix_spawn(&pid, argv[0], &actions, nil, cArgv, cEnv) }
        }
        guard spawned == 0 else { throw Failure(description: "cannot run \(argv[0]): error \(spawned)") }
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(120)
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date() > deadline {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
                break
            }
            usleep(5_000)
        }
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        // Exited normally with status 0 (the wait status's low 7 bits are the signal, the next 8 the code).
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            throw Failure(description: "\(program) \(arguments.joined(separator: " ")) failed (wait status \(status)): \(text)")
        }
        return text
    }
}

/// Calls `body` with a NULL-terminated C array of copies of `strings`.
private func withCStringArray<T>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> T) -> T {
    let copies: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) } + [nil]
    defer { for copy in copies { free(copy) } }
    return copies.withUnsafeBufferPointer { body($0.baseAddress!) }
}
