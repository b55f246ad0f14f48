import Foundation

/// RFC 9530 `Content-Digest`: the SHA-256 a client sends with each blob, as
/// `sha-256=:<base64 of 32 bytes>:` (a structured-field dictionary; other algorithms may appear
/// beside it and are ignored).
public enum ContentDigest {
    /// The `sha-256` member as 64 lower-case hex digits; nil if absent or malformed.
    public static func sha256Hex(fromHeader value: String) -> String? {
        for member in value.split(separator: ",") {
            let trimmed = member.trimmingCharacters(in: .whitespaces)
            guard let eq = trimmed.firstIndex(of: "=") else { continue }
            guard trimmed[..<eq].lowercased() == "sha-256" else { continue }
            let item = trimmed[trimmed.index(after: eq)...]
            guard item.count >= 2, item.first == ":", item.last == ":",
                let bytes = Data(base64Encoded: String(item.dropFirst().dropLast())), bytes.count == 32
            else { return nil }
            return bytes.map { String(format: "%02x", $0) }.joined()
        }
        return nil
    }

    /// The header value for a hex SHA-256.
    public static func header(sha256Hex hex: String) -> String {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16) ?? 0)
            index = next
        }
        return "sha-256=:" + Data(bytes).base64EncodedString() + ":"
    }
}
