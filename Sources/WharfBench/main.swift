// wharf-bench: release-mode micro-benchmarks for HTTPCore.
// Usage: swift run -c release wharf-bench parser [--runs N] [--seconds S]
let arguments = Array(CommandLine.arguments.dropFirst())
let options = BenchOptions(arguments)

switch arguments.first {
case "parser":
    ParserBenchmark.run(options)
default:
    print("""
        usage: wharf-bench parser [--runs N] [--seconds S]
          parser   requests parsed per second on one core (typical 12-field browser GET, minimal GET)
        """)
}
