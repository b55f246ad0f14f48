import Foundation

/// Polls `condition` every `interval` seconds until it holds (true) or `seconds` pass (false): the
/// one way tests wait for something another thread or process does, instead of sleeping and hoping.
@discardableResult
public func eventually(_ seconds: Double = 10, every interval: Double = 0.02, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while true {
        if try condition() { return true }
        if Date() >= deadline { return false }
        Thread.sleep(forTimeInterval: interval)
    }
}

/// `eventually` for async tests: waits with `Task.sleep`, so it never holds a thread of the
/// concurrency pool that the code under test needs.
@discardableResult
public func waitUntil(_ seconds: Double = 10, every interval: Double = 0.02, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while true {
        if try await condition() { return true }
        if Date() >= deadline { return false }
        try? await Task.sleep(for: .milliseconds(Int(interval * 1000)))
    }
}
