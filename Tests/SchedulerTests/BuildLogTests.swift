import Foundation
import Testing
import WharfTestSupport

@testable import Scheduler

@Suite struct BuildLogTests {
    func read(_ log: BuildLog) throws -> [String] {
        try String(contentsOfFile: log.path, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    @Test func chunksBecomeTimestampedLinesPerStream() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let clock = VirtualClock(start: Date(timeIntervalSince1970: 1_800_000_000.25))
        let log = try BuildLog(path: dir.path + "/a/b/job.log", capBytes: 1 << 20, clock: clock)
        #expect(log.append(Array("hel".utf8), from: .out).isEmpty)
        #expect(log.append(Array("oops\n".utf8), from: .err) == ["oops"])
        #expect(log.append(Array("lo\r\nworld\n::stage x\n".utf8), from: .out) == ["hello", "world", "::stage x"])
        log.append(Array("tail".utf8), from: .out)
        log.flush()
        #expect(
            try read(log) == [
                "2027-01-15T08:00:00.250Z err | oops",
                "2027-01-15T08:00:00.250Z out | hello",
                "2027-01-15T08:00:00.250Z out | world",
                "2027-01-15T08:00:00.250Z out | ::stage x",
                "2027-01-15T08:00:00.250Z out | tail",
            ])
    }

    @Test func aHugeLineWithoutNewlineIsCut() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let log = try BuildLog(path: dir.path + "/job.log", capBytes: 1 << 20)
        let lines = log.append([UInt8](repeating: UInt8(ascii: "z"), count: BuildLog.maxLineBytes * 2 + 5), from: .out)
        #expect(lines.map(\.count) == [BuildLog.maxLineBytes, BuildLog.maxLineBytes])
    }

    @Test func theCapStopsWritingAndSaysSo() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let log = try BuildLog(path: dir.path + "/job.log", capBytes: 4096)
        for _ in 0..<1000 { log.append(Array("0123456789\n".utf8), from: .out) }
        #expect(log.capReached)
        let size = try FileManager.default.attributesOfItem(atPath: log.path)[.size] as! NSNumber
        #expect(size.intValue <= 4096 + 200)
        #expect(try read(log).last?.contains("log cap of 4096 bytes reached") == true)
    }

    @Test func secretsAreRedactedButShortValuesAreNot() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let log = try BuildLog(path: dir.path + "/job.log", capBytes: 1 << 20, secrets: ["hunter2-token", "ab"])
        log.append(Array("login with hunter2-token and ab\n".utf8), from: .out)
        #expect(try read(log).first?.hasSuffix("out | login with *** and ab") == true)
    }

    @Test func anUnwritableLogPathIsAnError() {
        #expect(throws: (any Error).self) { try BuildLog(path: "/proc/wharf-cannot-write/job.log", capBytes: 4096) }
    }
}
