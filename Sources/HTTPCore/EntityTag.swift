/// An entity tag (RFC 9110 §8.8.3): an opaque validator, strong `"abc"` or weak `W/"abc"`.
/// The opaque part is a slice of the bytes it was parsed from: parsing copies nothing.
public struct EntityTag: Sendable, Hashable {
    /// Whether the tag was sent with the `W/` prefix.
    public let isWeak: Bool
    /// The bytes between the double quotes.
    public let opaque: ArraySlice<UInt8>

    /// How two tags are compared (RFC 9110 §8.8.3.2).
    public enum Comparison: Sendable {
        /// Both tags strong and their opaque parts equal (If-Match, If-Range).
        case strong
        /// Opaque parts equal, weakness ignored (If-None-Match).
        case weak
    }

    public init(opaque: ArraySlice<UInt8>, isWeak: Bool = false) {
        self.opaque = opaque
        self.isWeak = isWeak
    }

    /// Parses exactly one entity-tag, with optional surrounding whitespace; nil if the bytes are
    /// anything else (a list, `*`, an unquoted value, a bad character).
    public init?(parsing field: ArraySlice<UInt8>) {
        var scanner = EntityTagListScanner(field)
        guard case .tag(let tag)? = scanner.nextMember(allowList: false) else { return nil }
        self = tag
    }

    public init?(_ string: String) {
        self.init(parsing: ArraySlice(string.utf8))
    }

    /// The tag as written in a header: `"abc"` or `W/"abc"`.
    public var headerValue: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(opaque.count + 4)
        if isWeak { bytes.append(contentsOf: "W/".utf8) }
        bytes.append(SemanticBytes.quote)
        bytes.append(contentsOf: opaque)
        bytes.append(SemanticBytes.quote)
        return bytes
    }

    /// RFC 9110 §8.8.3.2 comparison.
    public func matches(_ other: EntityTag, using comparison: Comparison) -> Bool {
        switch comparison {
        case .strong: !isWeak && !other.isWeak && opaque == other.opaque
        case .weak: opaque == other.opaque
        }
    }
}

/// One member of an `If-Match` / `If-None-Match` field value.
public enum EntityTagListMember: Sendable, Hashable {
    /// `*`: matches any current representation.
    case any
    case tag(EntityTag)
}

/// Walks the members of an entity-tag list (`"a", W/"b"` or `*`) in place. Malformed members
/// (unquoted values, bad characters, unterminated quotes) are skipped up to the next comma, so
/// a bad member never matches anything: for If-Match that means 412, for If-None-Match it
/// means the condition holds and the request proceeds.
public struct EntityTagListScanner: IteratorProtocol, Sequence {
    private let field: ArraySlice<UInt8>
    private var index: Int

    public init(_ field: ArraySlice<UInt8>) {
        self.field = field
        self.index = field.startIndex
    }

    public mutating func next() -> EntityTagListMember? {
        nextMember(allowList: true)
    }

    /// Whether the list has a member matching `current` (a `*` matches anything).
    public static func contains(_ current: EntityTag, in field: ArraySlice<UInt8>, using comparison: EntityTag.Comparison) -> Bool {
        for member in EntityTagListScanner(field) {
            switch member {
            case .any: return true
            case .tag(let tag): if tag.matches(current, using: comparison) { return true }
            }
        }
        return false
    }

    /// Whether the field holds `*` (or a list containing it).
    public static func containsWildcard(_ field: ArraySlice<UInt8>) -> Bool {
        EntityTagListScanner(field).contains(.any)
    }

    mutating func nextMember(allowList: Bool) -> EntityTagListMember? {
        let end = field.endIndex
        while true {
            while index < end, field[index] == SemanticBytes.comma || SemanticBytes.isOWS(field[index]) {
                if !allowList, field[index] == SemanticBytes.comma { return nil }
                index += 1
            }
            guard index < end else { return nil }
            if let (member, after) = member(at: index) {
                var j = after
                while j < end, SemanticBytes.isOWS(field[j]) { j += 1 }
                if j == end || (allowList && field[j] == SemanticBytes.comma) {
                    index = j
                    return member
                }
            }
            if !allowList { return nil }
            // Malformed member: resynchronise after the next comma.
            while index < end, field[index] != SemanticBytes.comma { index += 1 }
        }
    }

    /// entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE; etagc = %x21 / %x23-7E / obs-text.
    private func member(at start: Int) -> (EntityTagListMember, Int)? {
        let end = field.endIndex
        var i = start
        if field[i] == UInt8(ascii: "*") { return (.any, i + 1) }
        var weak = false
        if field[i] == UInt8(ascii: "W") {
            guard i + 1 < end, field[i + 1] == UInt8(ascii: "/") else { return nil }
            weak = true
            i += 2
        }
        guard i < end, field[i] == SemanticBytes.quote else { return nil }
        let opaqueStart = i + 1
        i = opaqueStart
        while i < end, field[i] != SemanticBytes.quote {
            let b = field[i]
            guard b == 0x21 || b >= 0x23 && b != 0x7F else { return nil }
            i += 1
        }
        guard i < end else { return nil }
        return (.tag(EntityTag(opaque: field[opaqueStart..<i], isWeak: weak)), i + 1)
    }
}
