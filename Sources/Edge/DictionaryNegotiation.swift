import HTTPCore

/// Chooses a `dcz` delta for a request (RFC 9842 §2.2, §5.2): the request must name `dcz` in
/// `Accept-Encoding` and carry an `Available-Dictionary` that parses to a SHA-256 the file has a
/// delta for. Anything else (no field, a malformed or unknown hash, dcz not accepted) returns nil
/// and the normal negotiation stands: the client is never told why.
enum DictionaryNegotiation {
    static let fieldName = "available-dictionary"

    static func delta(for head: RequestHead, file: ServedFile) -> ServedFile.Representation? {
        guard !file.deltas.isEmpty,
            let field = head.value(ofName: fieldName),
            ContentNegotiation.acceptsDictionaryZstd(acceptEncoding: head.value(of: .acceptEncoding)),
            let hash = AvailableDictionary.parse(field)
        else { return nil }
        return file.delta(forDictionary: hash)
    }
}
