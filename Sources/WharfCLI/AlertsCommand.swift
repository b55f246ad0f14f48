import ArgumentParser
import Foundation
import Scheduler

/// `wharf alerts [--all] [--json]`: the performance monitor's alerts from the scheduler database.
struct AlertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts", abstract: "List firing alerts (slow builds, failure rate, backlog, durations, timeouts).")

    @OptionGroup var store: StoreLocation
    @Flag(help: "Include resolved alerts.") var all = false
    @Flag(help: "Print JSON (the same as /_wharf/api/alerts).") var json = false
    @Option(help: "At most this many alerts (1...1000).") var limit = 100

    func validate() throws {
        guard (1...1000).contains(limit) else { throw ValidationError("--limit must be 1...1000") }
    }

    func run() throws {
        let path = store.resolvedPath + "/scheduler.sqlite"
        guard FileManager.default.fileExists(atPath: path) else {
            if json { print(#"{"alerts":[],"firing":0}"#) } else { print("no alerts (no scheduler database at \(path))") }
            return
        }
        let alerts = AlertStore(database: try SchedulerDatabase.open(path: path))
        if json {
            let response = AlertsAPI.handle(store: alerts, query: ["all": all ? "1" : "0", "limit": "\(limit)"])
            print(String(decoding: response.body, as: UTF8.self))
            return
        }
        let list = try alerts.list(includeResolved: all, limit: limit)
        if list.isEmpty {
            print(all ? "no alerts" : "no firing alerts")
            return
        }
        let time = ISO8601DateFormatter()
        for alert in list {
            var line =
                "\(alert.state.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)) "
                + "\(alert.severity.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)) \(alert.summary)"
            line += "  [×\(alert.count), first \(time.string(from: alert.firstSeen)), last \(time.string(from: alert.lastSeen))"
            if let resolved = alert.resolvedAt { line += ", resolved \(time.string(from: resolved))" }
            print(line + "]")
            if case .strings(let suggestions)? = alert.details["suggestions"] {
                for suggestion in suggestions { print("         → \(suggestion)") }
            }
        }
    }
}
