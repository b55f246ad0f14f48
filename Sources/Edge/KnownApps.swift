/// What the router may route to: the apps the edge serves right now, and the host names the app
/// registry gives them (`wharf apps add demo --host demo.example.test`). Part of a catalog
/// snapshot, so a registry change reaches routing with the next catalog swap.
public struct KnownApps: Sendable, Equatable, ExpressibleByArrayLiteral {
    public var names: Set<String>
    /// Registered host name (lower case, no port) → app.
    public var hostnames: [String: String]

    public init(names: Set<String>, hostnames: [String: String] = [:]) {
        self.names = names
        self.hostnames = hostnames
    }

    public init(arrayLiteral elements: String...) {
        self.init(names: Set(elements))
    }

    public func contains(_ app: String) -> Bool { names.contains(app) }
    public var count: Int { names.count }
    public var first: String? { names.first }
}
