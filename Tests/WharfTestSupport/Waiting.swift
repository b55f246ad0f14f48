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
