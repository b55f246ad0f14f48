import Synchronization

/// Remembers failures by (source hash, failure signature) and says whether a failed attempt deserves an
/// automatic retry. A failure seen before on the same source, with the same signature (the same step
/// failing the same way, or a timeout), is deterministic: retrying it only burns a slot. The first sighting
/// is retried, because a flaky failure (network, a dying runner) looks the same the first time.
/// A manual rebuild of a source that already failed that way still runs once (the user asked), but gets
/// no automatic retries.
public final class DeterministicFailureDetector: Sendable {
    /// Distinct (source, signature) pairs kept; the oldest are forgotten first.
    let capacity: Int

    private struct Memory {
        var seen: Set<String> = []
        var order: [String] = []
        var head = 0
        var judgedDeterministic = 0
    }
    private let memory = Mutex(Memory())

    init(capacity: Int = 100_000) { self.capacity = max(1, capacity) }

    /// Records a failed attempt; true when it should be retried (first time this source failed this way).
    func shouldRetry(source: String, signature: String) -> Bool {
        let key = source + "\u{1F}" + signature
        return memory.withLock { m in
            if m.seen.contains(key) {
                m.judgedDeterministic += 1
                return false
            }
            m.seen.insert(key)
            m.order.append(key)
            if m.order.count - m.head > capacity {
                m.seen.remove(m.order[m.head])
                m.head += 1
                if m.head > capacity {
                    m.order.removeFirst(m.head)
                    m.head = 0
                }
            }
            return true
        }
    }

    /// Failures judged deterministic so far.
    var deterministicCount: Int { memory.withLock { $0.judgedDeterministic } }
}
