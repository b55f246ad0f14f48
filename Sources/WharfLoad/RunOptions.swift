/// How one run is driven: the phase of a scenario after command-line overrides.
struct RunOptions: Sendable, Equatable {
    enum Mode: String, Sendable { case open, closed }

    var mode: Mode
    var host: String
    var port: Int
    var label: String
    var connections: Int
    /// Requests per second (open loop only).
    var rate: Double?
    var durationS: Double
    var maxRequests: Int
    var verifyFraction: Double
    var requestTimeoutS: Double
    var seed: UInt64
    /// Skip the idle/slowloris background connections even if the scenario asks for them.
    var skipBackground = false

    /// Time allowed after the last send for responses still in flight.
    var drainGraceS: Double { min(5, requestTimeoutS) }

    /// Hard bound on the requests of one run, whatever the options say.
    static let absoluteMaxRequests = 50_000_000
}
