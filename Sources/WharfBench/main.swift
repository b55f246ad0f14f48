// wharf-bench: release-mode micro-benchmarks for HTTPCore.
// Usage: swift run -c release wharf-bench parser [--runs N] [--seconds S] | scheduler [--jobs N] [--queued N] [--postgres|--postgres-async]
let arguments = Array(CommandLine.arguments.dropFirst())
let options = BenchOptions(arguments)

switch arguments.first {
case "parser":
    ParserBenchmark.run(options)
case "scheduler":
    SchedulerBench.run(Array(arguments.dropFirst()))
default:
    print(
        """
        usage: wharf-bench parser [--runs N] [--seconds S]
               wharf-bench scheduler [--jobs N] [--queued N] [--postgres|--postgres-async]
          parser     requests parsed per second on one core (typical 12-field browser GET, minimal GET)
          scheduler  durable enqueues/s (default 100,000 jobs), decision p50/p99 with N queued (default 10,000), SQLite size;
                     --postgres: the same on a private PostgreSQL server too, both side by side
                     (--postgres-async: that server without fsync or synchronous_commit)
        """)
}
