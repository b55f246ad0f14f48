import Foundation
import Synchronization

/// Runs publish-time jobs (variant compression, dictionary deltas) on up to `threads` threads (0 = one
/// per core), each job once, in no particular order. The first failure stops the rest from starting;
/// the results of the jobs that finished come back by index together with that failure, so the caller
/// can remove what they created before rethrowing it.
enum ParallelJobs {
    static func run<Output: Sendable>(
        count: Int, threads: Int, failure describe: @escaping @Sendable (Int, any Error) -> StoreError,
        _ job: @escaping @Sendable (Int) throws -> Output,
        finished: @escaping @Sendable (_ done: Int) -> Void = { _ in }
    ) -> ([Int: Output], StoreError?) {
        guard count > 0 else { return ([:], nil) }
        let workers = min(count, threads > 0 ? threads : ProcessInfo.processInfo.activeProcessorCount)
        let next = Mutex(0)
        let outcomes = Mutex<[Int: Output]>([:])
        let failure = Mutex<StoreError?>(nil)
        DispatchQueue.concurrentPerform(iterations: max(1, workers)) { _ in
            while true {
                let index: Int? = next.withLock { value in
                    guard value < count, failure.withLock({ $0 == nil }) else { return nil }
                    defer { value += 1 }
                    return value
                }
                guard let index else { return }
                do {
                    let outcome = try job(index)
                    let done = outcomes.withLock { results -> Int in
                        results[index] = outcome
                        return results.count
                    }
                    finished(done)
                } catch {
                    let storeError = describe(index, error)
                    failure.withLock { if $0 == nil { $0 = storeError } }
                }
            }
        }
        return (outcomes.withLock { $0 }, failure.withLock { $0 })
    }
}
