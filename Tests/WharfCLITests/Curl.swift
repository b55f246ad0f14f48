import Foundation

/// One HTTP/1.1 exchange with the real `curl` (a real client, as the end-to-end tests use), with a
/// deadline: the status and the response's header fields.
enum Curl {
    struct Response {
        var status: Int
        var headers: [(name: String, value: String)]
        func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }
    }

    struct Failed: Error, CustomStringConvertible { var description: String }

    /// `method` on `url` with `headers` and an optional body; the body of the answer is discarded.
    static func request(_ url: String, method: String = "GET", headers: [String: String] = [:], body: [UInt8]? = nil) throws -> Response {
        var arguments = ["-s", "-o", "/dev/null", "-D", "-", "--max-time", "20", "-X", method]
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { arguments += ["-H", "\(name): \(value)"] }
        if body != nil { arguments += ["--data-binary", "@-"] }
        arguments.append(url)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = arguments
        let output = Pipe()
        let input = Pipe()
        process.standardOutput = output
        process.standardInput = input
        try process.run()
        if let body { input.fileHandleForWriting.write(Data(body)) }
        try? input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw Failed(description: "curl \(url): exit \(process.terminationStatus)") }
        // Interim heads (103 Early Hints) come first: the final head is the last one.
        let heads = String(decoding: data, as: UTF8.self).components(separatedBy: "\r\n\r\n").filter { !$0.isEmpty }
        let lines = (heads.last ?? "").components(separatedBy: "\r\n")
        guard let statusLine = lines.first, let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") else {
            throw Failed(description: "curl \(url): no status line in \(lines)")
        }
        let headers = lines.dropFirst().compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        return Response(status: status, headers: headers)
    }
}
