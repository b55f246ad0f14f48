import Foundation

/// An instant from an ISO 8601 text with a zone offset (`2026-03-29T03:00:00+02:00`).
func instant(_ text: String) -> Date {
    guard let date = ISO8601DateFormatter().date(from: text) else { fatalError("bad test date \(text)") }
    return date
}
