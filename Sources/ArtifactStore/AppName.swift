/// App names become host names (`app.example.test`) and path prefixes (`/apps/app/`), so they are
/// restricted to one lower-case DNS label (RFC 1123 §2.1): 1–63 of `a-z0-9-`, no leading or
/// trailing dash. The schema repeats this rule as a CHECK constraint.
public enum AppName {
    public static func isSafe(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...63).contains(bytes.count), bytes.first != UInt8(ascii: "-"), bytes.last != UInt8(ascii: "-") else {
            return false
        }
        return bytes.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2d }
    }

    /// Throws `StoreError.unsafeAppName` unless `name` is safe.
    public static func validate(_ name: String) throws {
        guard isSafe(name) else { throw StoreError.unsafeAppName(name) }
    }
}
