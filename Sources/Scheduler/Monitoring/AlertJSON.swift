import Foundation

/// The JSON form of alerts, shared by the webhook, `/_wharf/api/alerts` and `wharf alerts --json`:
/// camelCase keys (the API convention; details of alerts stored before it are renamed on read by
/// `AlertDetailKeys`), ISO 8601 times in UTC, sorted keys.
enum AlertJSON {
    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }

    /// `value` as compact JSON bytes.
    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        Array(try encoder().encode(value))
    }

    static func string<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try encoder().encode(value), as: UTF8.self)
    }
}
