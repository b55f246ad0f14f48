import Synchronization

/// N event loops, each on its own thread (one per core for the edge), shut down together.
public final class EventLoopGroup: Sendable {
    public let threads: [LoopThread]
    private let nextIndex = Atomic<Int>(0)

    /// Starts `loopCount` loops named `<namePrefix>-0`, `<namePrefix>-1`, ….
    public init(loopCount: Int, namePrefix: String = "wharf-loop") throws(UVError) {
        precondition(loopCount > 0, "EventLoopGroup needs at least one loop")
        var threads: [LoopThread] = []
        do {
            for index in 0..<loopCount {
                threads.append(try LoopThread(name: "\(namePrefix)-\(index)"))
            }
        } catch {
            for thread in threads { try? thread.stopAndJoin() }
            throw error
        }
        self.threads = threads
    }

    public var loops: [EventLoop] { threads.map(\.loop) }

    /// The loops in turn (round robin), e.g. for outgoing connections.
    public func next() -> EventLoop {
        let index = nextIndex.wrappingAdd(1, ordering: .relaxed).oldValue
        return threads[index % threads.count].loop
    }

    /// Stops every loop, joins every thread, and throws the first unclean close (`.ebusy`).
    public func shutdown() throws(UVError) {
        for thread in threads { thread.loop.stop() }
        var firstError: UVError?
        for thread in threads {
            do { try thread.stopAndJoin() } catch { firstError = firstError ?? error }
        }
        if let firstError { throw firstError }
    }
}
