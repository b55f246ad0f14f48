import HTTPCore

/// Requests parsed per second on one core: the edge's per-read work (parse every complete
/// head in the buffer, look up Host and Accept-Encoding, decide keep-alive).
enum ParserBenchmark {
    /// A typical browser request for a hashed script: 12 header fields, 427 bytes.
    static let typical = """
        GET /assets/app.3f9a1c.js HTTP/1.1\r
        Host: shop.example.test\r
        User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0\r
        Accept: */*\r
        Accept-Language: en-GB,en;q=0.9\r
        Accept-Encoding: gzip, deflate, br, zstd\r
        Referer: https://shop.example.test/\r
        Connection: keep-alive\r
        Sec-Fetch-Dest: script\r
        Sec-Fetch-Mode: no-cors\r
        Sec-Fetch-Site: same-origin\r
        If-None-Match: "br-5d41402abc4b2a76"\r
        Priority: u=1\r
        \r

        """

    static let minimal = "GET / HTTP/1.1\r\nHost: a\r\n\r\n"

    static func run(_ options: BenchOptions) {
        print("wharf-bench parser: \(options.runs) runs x \(options.seconds) CPU-s each, one thread, median")
        for (name, text) in [("typical 12-field browser GET", typical), ("minimal GET", minimal)] {
            if let only = options.only, !name.contains(only) { continue }
            let request = Array(text.utf8)
            for (mode, pipelined) in [("one request per read", 1), ("16 pipelined per read", 16)] {
                var buffer: [UInt8] = []
                for _ in 0..<pipelined { buffer += request }
                var parser = RequestParser()  // one per connection, reused across reads
                let (rates, sink, items) = measure(runs: options.runs, seconds: options.seconds, itemsPerCall: pipelined) {
                    parseAll(buffer, &parser)
                }
                let cpu = rates.map(\.cpu).sorted()
                print(
                    "  \(name) (\(request.count) B), \(mode): \(formatRate(median(cpu))) requests per CPU-second"
                        + " (runs \(formatRate(cpu.first!))..\(formatRate(cpu.last!)); wall clock median"
                        + " \(formatRate(median(rates.map(\.wall)))); \(items) requests) [\(sink & 1)]")
            }
        }
    }

    /// What a connection does per read: parse every event, touch the fields it needs.
    @inline(never)
    static func parseAll(_ buffer: [UInt8], _ parser: inout RequestParser) -> Int {
        var index = 0
        var work = 0
        do {
            while let event = try parser.next(in: buffer, at: &index) {
                if case .head(let head) = consume event {
                    work &+= head.value(of: .host)?.count ?? 0
                    work &+= head.value(of: .acceptEncoding)?.count ?? 0
                    work &+= head.keepAlive ? 1 : 0
                }
            }
        } catch {
            fatalError("benchmark request rejected: \(error)")
        }
        return work &+ index
    }
}
