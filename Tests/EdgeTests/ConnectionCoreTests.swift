import Testing

@testable import Edge

/// The connection core both listeners share, driven without sockets: admissions in, refusals out;
/// clocks and a virtual `now` in, timeouts out; the drain reported once when the last one leaves.
@Suite struct ConnectionCoreTests {
    /// A connection as the table sees it: an object whose clocks the test sets.
    final class FakeConnection {
        let id: Int
        var timing: ConnectionTiming?
        init(id: Int, timing: ConnectionTiming? = ConnectionTiming(idleSinceMs: 0)) {
            self.id = id
            self.timing = timing
        }
    }

    static let timeouts = ConnectionTimeouts(handshakeMs: 500, requestMs: 1_000, idleMs: 3_000, sendMs: 2_000)

    func table(max: Int = 4, timeouts: ConnectionTimeouts = timeouts, tickMs: Int = 250) -> ConnectionCore<FakeConnection> {
        ConnectionCore(maxConnections: max, timeouts: timeouts, tickMs: tickMs)
    }

    @discardableResult
    func admit(_ t: inout ConnectionCore<FakeConnection>, _ timing: ConnectionTiming? = ConnectionTiming(idleSinceMs: 0)) -> FakeConnection {
        let c = FakeConnection(id: t.nextID(), timing: timing)
        t.insert(c, id: c.id)
        return c
    }

    func removed(_ t: inout ConnectionCore<FakeConnection>, _ c: FakeConnection) -> Bool {
        t.remove(c, id: c.id)
    }

    func drained(_ t: inout ConnectionCore<FakeConnection>, at now: UInt64 = 0) -> Bool {
        t.sweep(now: now) { $0.timing }.drained
    }

    func expired(_ t: inout ConnectionCore<FakeConnection>, at now: UInt64) -> [(Int, ConnectionTimeout)] {
        t.sweep(now: now) { $0.timing }.expired.map { ($0.connection.id, $0.timeout) }
    }

    @Test func theCapRefusesTheNextConnectionUntilOneLeaves() {
        var t = table(max: 2)
        #expect(t.admission() == .accept)
        let first = admit(&t)
        #expect(t.admission() == .accept)
        admit(&t)
        #expect(t.admission() == .refuseFull)
        #expect(t.count == 2)
        #expect(removed(&t, first))
        #expect(t.admission() == .accept)
    }

    @Test func aCapOfZeroRefusesEverything() {
        let t = table(max: 0)
        #expect(t.admission() == .refuseFull)
    }

    @Test func idsAreNeverReusedAndOnlyTheConnectionUnderAnIdIsRemoved() {
        var t = table()
        let a = admit(&t)
        let b = admit(&t)
        #expect(a.id != b.id)
        #expect(removed(&t, a))
        #expect(!removed(&t, a), "a second close report removes nothing")
        let c = admit(&t)
        #expect(c.id != a.id && c.id != b.id)
        // A protocol switch: the successor takes b's id; b's late close must not remove it.
        let successor = FakeConnection(id: b.id)
        t.insert(successor, id: b.id)
        #expect(!removed(&t, b))
        #expect(t[b.id] === successor)
        #expect(t.count == 2)
    }

    @Test func anIdleConnectionTimesOutOnlyAfterTheIdleTimeout() {
        var t = table()
        admit(&t, ConnectionTiming(idleSinceMs: 100))
        #expect(expired(&t, at: 100).isEmpty)
        #expect(expired(&t, at: 3_100).isEmpty, "exactly the timeout is not past it")
        let fired = expired(&t, at: 3_101)
        #expect(fired.count == 1 && fired.first?.1 == .idle)
    }

    @Test func aPartlyReceivedRequestGetsTheRequestTimeoutBeforeTheIdleOne() {
        var t = table()
        // Both clocks run (bytes buffered on an otherwise idle connection): the request timeout wins.
        admit(&t, ConnectionTiming(requestStartedMs: 0, idleSinceMs: 0))
        #expect(expired(&t, at: 1_000).isEmpty)
        #expect(expired(&t, at: 1_001).map(\.1) == [.request])
        #expect(expired(&t, at: 5_000).map(\.1) == [.request], "the table does not forget a connection that was told")
    }

    @Test func aHandshakeUnderWayIsTimedByTheHandshakeTimeoutAlone() {
        var t = table()
        // Old request and idle clocks do not apply before the handshake has finished.
        admit(&t, ConnectionTiming(handshakeStartedMs: 1_000, requestStartedMs: 0, idleSinceMs: 0))
        #expect(expired(&t, at: 1_500).isEmpty)
        #expect(expired(&t, at: 1_501).map(\.1) == [.handshake])
    }

    @Test func aStalledResponseIsClosedAfterTheSendTimeoutButABusyOneWithoutAStallIsNot() {
        var t = table()
        let stalled = admit(&t, ConnectionTiming(stalledSinceMs: 0))
        // Busy (a handler working, a body loading) with no clock running: never timed out.
        let working = admit(&t, ConnectionTiming())
        #expect(expired(&t, at: 2_000).isEmpty)
        let fired = expired(&t, at: 2_001)
        #expect(fired.map(\.0) == [stalled.id] && fired.map(\.1) == [.send])
        #expect(!expired(&t, at: 1_000_000).contains { $0.0 == working.id })
    }

    @Test func closedConnectionsAreSkipped() {
        var t = table()
        admit(&t, nil)
        #expect(expired(&t, at: 1_000_000).isEmpty)
    }

    @Test func manyConnectionsAreSweptInSlicesEachOncePerRound() {
        // Shortest timeout 10 s at a 250 ms tick: 8 slices; 3,000 connections, 375 per tick.
        var t = table(max: 10_000, timeouts: ConnectionTimeouts(handshakeMs: 10_000, requestMs: 10_000, idleMs: 10_000, sendMs: 10_000))
        for _ in 0..<3_000 { admit(&t) }
        var seen: [Int: Int] = [:]
        for tick in 0..<8 {
            let fired = expired(&t, at: 20_000)
            #expect(fired.count == 375, "tick \(tick)")
            for (id, timeout) in fired {
                #expect(timeout == .idle)
                seen[id, default: 0] += 1
            }
        }
        #expect(seen.count == 3_000 && seen.values.allSatisfy { $0 == 1 })
        // The next tick starts a new round.
        #expect(expired(&t, at: 20_000).count == 375)
    }

    @Test func upTo256ConnectionsAreAllLookedAtEveryTick() {
        var t = table(max: 1_000, timeouts: ConnectionTimeouts(handshakeMs: 10_000, requestMs: 10_000, idleMs: 10_000, sendMs: 10_000))
        for _ in 0..<256 { admit(&t) }
        #expect(expired(&t, at: 20_000).count == 256)
        #expect(expired(&t, at: 20_000).count == 256)
    }

    @Test func aConnectionThatLeftMidRoundIsNotReported() {
        var t = table(max: 10_000, timeouts: ConnectionTimeouts(handshakeMs: 10_000, requestMs: 10_000, idleMs: 10_000, sendMs: 10_000))
        let all = (0..<600).map { _ in admit(&t) }
        let first = Set(expired(&t, at: 20_000).map(\.0))
        #expect(first.count == 256)
        for c in all where !first.contains(c.id) { #expect(removed(&t, c)) }
        // The rest of the round (ids 256..<512, then 512..<600) left the table: nothing to report.
        #expect(expired(&t, at: 20_000).isEmpty)
        #expect(expired(&t, at: 20_000).isEmpty)
        // A new round holds only who is left.
        #expect(Set(expired(&t, at: 20_000).map(\.0)) == first)
    }

    @Test func aDrainRefusesNewConnectionsAndIsReportedOnceWhenTheLastLeaves() {
        var t = table()
        let a = admit(&t)
        let b = admit(&t)
        t.beginDrain()
        #expect(t.isDraining)
        #expect(t.admission() == .refuseDraining, "draining refuses even below the cap")
        let finishedEarly = t.drainFinished()
        #expect(!finishedEarly)
        t.remove(a, id: a.id)
        #expect(!drained(&t))
        t.remove(b, id: b.id)
        #expect(drained(&t))
        #expect(!drained(&t), "reported once")
        let again = t.drainFinished()
        #expect(!again)
    }

    @Test func aDrainWithNothingOpenIsFinishedAtOnce() {
        var t = table()
        let before = t.drainFinished()
        #expect(!before, "no drain asked for")
        t.beginDrain()
        let finished = t.drainFinished()
        #expect(finished)
        #expect(!drained(&t))
    }
}
