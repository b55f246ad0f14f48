/// Response fields in one byte buffer with their offsets: what `HTTP2ServerSession` turns into
/// nghttp2's name/value list. Built once (e.g. per cached representation) and submitted many
/// times: handing it over costs two references, not two per field.
public struct HTTP2HeaderList: Sendable {
    /// Names and values, back to back.
    public private(set) var storage: [UInt8] = []
    /// (name start, name length, value start, value length) into `storage`, per field.
    private(set) var spans: [(Int32, Int32, Int32, Int32)] = []

    public init() {}

    public var count: Int { spans.count }

    /// Adds a field; `name` must already be lowercase (RFC 9113 §8.2.1).
    public mutating func append<N: Collection, V: Collection>(name: N, value: V) where N.Element == UInt8, V.Element == UInt8 {
        let nameStart = storage.count
        storage.append(contentsOf: name)
        let valueStart = storage.count
        storage.append(contentsOf: value)
        spans.append((Int32(nameStart), Int32(valueStart - nameStart), Int32(valueStart), Int32(storage.count - valueStart)))
    }

    /// The value of the first field called `name`.
    public func value(of name: String) -> ArraySlice<UInt8>? {
        for span in spans where storage[Int(span.0)..<Int(span.0 + span.1)].elementsEqual(name.utf8) {
            return storage[Int(span.2)..<Int(span.2 + span.3)]
        }
        return nil
    }

    /// Every field as (name, value) strings (for tests and logs).
    public var pairs: [(String, String)] {
        spans.map { span in
            (
                String(decoding: storage[Int(span.0)..<Int(span.0 + span.1)], as: UTF8.self),
                String(decoding: storage[Int(span.2)..<Int(span.2 + span.3)], as: UTF8.self)
            )
        }
    }
}
