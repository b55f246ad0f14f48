#if canImport(Glibc)
    import Glibc
#endif

/// Command-line options shared by the benchmarks.
struct BenchOptions {
    /// Timed runs per case; the median is reported.
    var runs = 7
    /// Wall time per run.
    var seconds = 0.4
    /// Run only the cases whose name contains this (e.g. "typical").
    var only: String?

    init(_ arguments: [String]) {
        var i = 0
        while i < arguments.count {
            switch arguments[i] {
            case "--runs" where i + 1 < arguments.count:
                runs = max(1, Int(arguments[i + 1]) ?? runs)
                i += 1
            case "--only" where i + 1 < arguments.count:
                only = arguments[i + 1]
                i += 1
            case "--seconds" where i + 1 < arguments.count:
                seconds = max(0.01, Double(arguments[i + 1]) ?? seconds)
                i += 1
            default:
                break
            }
            i += 1
        }
    }
}

/// Items per second of one run, by wall clock and by this thread's CPU time. On a shared
/// machine the CPU-time rate is the per-core figure; the wall-clock one includes waiting.
struct Rate {
    var wall: Double
    var cpu: Double
}

/// Runs `body` (which processes `itemsPerCall` items) repeatedly for `seconds` of CPU time,
/// `runs` times, and returns each run's rates.
func measure(runs: Int, seconds: Double, itemsPerCall: Int, _ body: () -> Int) -> (rates: [Rate], sink: Int, items: Int) {
    var total = 0
    var sink = 0
    var rates: [Rate] = []
    for _ in 0..<2000 { sink &+= body() }  // warm-up
    for _ in 0..<runs {
        var calls = 0
        let wallStart = now(CLOCK_MONOTONIC)
        let cpuStart = now(CLOCK_THREAD_CPUTIME_ID)
        var cpu = cpuStart
        repeat {
            for _ in 0..<256 { sink &+= body() }
            calls += 256
            cpu = now(CLOCK_THREAD_CPUTIME_ID)
        } while cpu - cpuStart < seconds
        let wall = now(CLOCK_MONOTONIC) - wallStart
        total += calls * itemsPerCall
        let items = Double(calls * itemsPerCall)
        rates.append(Rate(wall: items / wall, cpu: items / (cpu - cpuStart)))
    }
    return (rates, sink, total + 2000 * itemsPerCall)
}

/// Seconds on `clock` (CLOCK_MONOTONIC or CLOCK_THREAD_CPUTIME_ID).
func now(_ clock: clockid_t) -> Double {
    var ts = timespec()
    clock_gettime(clock, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// The middle value of `values`.
func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

func formatRate(_ value: Double) -> String {
    // Integer arithmetic: Double.rounded() would need libm, which this target does not link.
    let hundredths = Int(value / 1e4 + 0.5)
    let fraction = hundredths % 100
    return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction) M"
}
