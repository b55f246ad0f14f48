/// Decides a file's `Cache-Control` at publish time, so the edge copies a string per response.
///
/// - content-hashed names: `max-age=31536000, immutable` (RFC 8246): the name changes
///   whenever the bytes do, so a browser never needs to revalidate (no `public`: it only
///   matters for responses to requests with `Authorization`);
/// - HTML, the web app manifest and service workers: `no-cache` (RFC 9111 §5.2.2.4): always
///   revalidated, because they name everything else and must pick up a new deployment at once;
/// - everything else: the configurable default (`public, max-age=300`).
public struct CachePolicy {
    public static let immutable = "max-age=31536000, immutable"
    /// What manifests published before `public` was dropped hold for hashed names.
    static let legacyImmutable = "public, max-age=31536000, immutable"

    /// The value to send for a manifest's stored value: older manifests' immutable policy is
    /// sent as today's, so every deployment answers alike.
    public static func served(_ stored: String) -> String {
        stored == legacyImmutable ? immutable : stored
    }
    public static let revalidate = "no-cache"
    public static let defaultHashedNamePattern = #"[.-](?=[A-Za-z0-9_]*[0-9])[A-Za-z0-9_]{8,}\.[A-Za-z0-9]+$"#

    private let hashedName: Regex<AnyRegexOutput>
    private let fallback: String

    public init(hashedNamePattern: String = defaultHashedNamePattern, defaultCacheControl: String = "public, max-age=300") throws {
        self.hashedName = try Regex(hashedNamePattern)
        self.fallback = defaultCacheControl
    }

    /// The header value for a URL path such as `/assets/app.3f9a1c2e.js`.
    public func cacheControl(forPath path: String) -> String {
        let name = String(path.split(separator: "/").last ?? "")
        let lower = name.lowercased()
        if Self.mustRevalidate(lowerCasedName: lower) { return Self.revalidate }
        if name.firstMatch(of: hashedName) != nil { return Self.immutable }
        return fallback
    }

    /// Whether a name is an HTML document, a web app manifest or a service worker.
    static func mustRevalidate(lowerCasedName name: String) -> Bool {
        if name.hasSuffix(".html") || name.hasSuffix(".htm") || name.hasSuffix(".webmanifest") { return true }
        // Service workers: sw.js, service-worker.js, Flutter's flutter_service_worker.js, …
        return name == "manifest.json" || name == "sw.js" || name == "sw.mjs"
            || name.hasSuffix("service-worker.js") || name.hasSuffix("service_worker.js") || name.hasSuffix("serviceworker.js")
    }
}
