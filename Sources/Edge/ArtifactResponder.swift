import ArtifactStore
import HTTPCore

/// Decides the whole response to one request from the current deployment snapshot, with every
/// HTTP rule delegated to HTTPCore: routing, SPA fallback, content negotiation, preconditions
/// (RFC 9110 §13.2.2), ranges (§14), and the headers. No I/O: the body is named, not read, so
/// the same plan can be tested alone and served by the real server.
public struct ArtifactResponder: Sendable {
    public var router: Router
    public var earlyHints: Bool

    public init(router: Router, earlyHints: Bool) {
        self.router = router
        self.earlyHints = earlyHints
    }

    /// Which bytes of a representation the response carries.
    public enum Slices: Sendable {
        case whole
        case single(offset: Int64, length: Int64)
        case multipart(MultipartByteRanges)
    }

    /// What the response body is.
    public enum Body: Sendable {
        case none
        /// A small generated body (error pages).
        case bytes([UInt8])
        /// Bytes of one representation of a served file.
        case representation(ServedFile, ServedFile.Representation, Slices)
    }

    /// The complete response decision.
    public struct Plan: Sendable {
        public var status: Int
        /// A `103 Early Hints` head to send first, if any.
        public var earlyHints: [UInt8]?
        public var head: [UInt8]
        /// Sent right after `head` when not empty: the Date/connection tail of a prebuilt head.
        public var headTail: [UInt8] = []
        public var body: Body
        /// Close the connection after this response.
        public var close: Bool
        /// The app that served it (for access statistics), if routed.
        public var app: String?
        public var path: String?
        /// The file served (access statistics count per file), if any.
        public var file: ServedFile? = nil

        /// The complete head as sent (`head` then `headTail`).
        public var fullHead: [UInt8] { headTail.isEmpty ? head : head + headTail }
    }

    /// A request that needs nothing but the whole representation's prebuilt 200 head, its Date
    /// tail and its body: what `cacheHitCandidate` finds.
    struct CacheHitCandidate {
        let app: String
        let file: ServedFile
        let rep: ServedFile.Representation
    }

    /// The common request resolved without building a `Plan`: GET over HTTP/1.1 keep-alive, no
    /// Range and no conditional field, a (Host, target) the route memo already resolved to a file,
    /// and no 103 to send first. nil sends the request through `plan`, which handles every case;
    /// for the ones accepted here both give the same response.
    func cacheHitCandidate(_ head: RequestHead, memo: RouteMemo) -> CacheHitCandidate? {
        guard head.method == .get, head.keepAlive, head.version == .http1_1,
            !head.contains(.range), !head.contains(.ifRange), !head.contains(.ifNoneMatch),
            !head.contains(.ifMatch), !head.contains(.ifModifiedSince), !head.contains(.ifUnmodifiedSince),
            let hostField = head.value(of: .host),
            let resolution = memo.lookupIfRemembered(RouteMemo.Key(host: hostField, target: head.target)),
            let app = resolution.app, let file = resolution.file,
            !earlyHints || file.earlyHintsHead == nil,
            file.deltas.isEmpty || head.value(ofName: DictionaryNegotiation.fieldName) == nil,
            let coding = ContentNegotiation.select(acceptEncoding: head.value(of: .acceptEncoding), available: file.available),
            let rep = file.representation(coding)
        else { return nil }
        return CacheHitCandidate(app: app, file: file, rep: rep)
    }

    /// Plans the response to `head`. `date` is the current IMF-fixdate.
    public func plan(_ head: RequestHead, snapshot: DeploymentCatalog.Snapshot, date: [UInt8]) -> Plan {
        plan(head, snapshot: snapshot, responseDate: ResponseDate(imfFixdate: date), memo: nil)
    }

    /// Where a request goes, or the error plan that answers it.
    private enum Resolved {
        case found(RouteMemo.Resolution)
        case failed(Plan)
    }

    /// Target normalisation, Host, routing and file lookup (the work `RouteMemo` saves).
    private func resolve(
        _ head: RequestHead, hostField: ArraySlice<UInt8>?, snapshot: DeploymentCatalog.Snapshot,
        fail: (Int, String) -> Plan
    ) -> Resolved {
        let target: RequestTarget
        do {
            target = try RequestTarget.parse(head.target, method: head.method)
        } catch {
            return .failed(fail(400, "bad request target: \(error)"))
        }
        var host: String? = target.host
        if host == nil, let h = hostField { host = String(decoding: h, as: UTF8.self) }
        if host == nil && head.version != .http1_0 { return .failed(fail(400, "missing Host header")) }

        guard let route = router.route(host: host, path: target.path, knownApps: snapshot.appNames) else {
            return .found(RouteMemo.Resolution(app: nil, file: nil))
        }
        if route.path == DownloadsPage.path, let page = snapshot.apps[route.app]?.downloadsPage {
            return .found(RouteMemo.Resolution(app: route.app, file: nil, page: page))
        }
        // A miss inside a known app keeps the app: its 404s count toward the app's error rate.
        guard let deployment = snapshot.apps[route.app], let file = deployment.lookup(route.path) else {
            return .found(RouteMemo.Resolution(app: snapshot.apps[route.app] == nil ? nil : route.app, file: nil))
        }
        return .found(RouteMemo.Resolution(app: route.app, file: file))
    }

    /// Plans the response to `head`, resolving its URL through `memo` (valid for `snapshot`) when given.
    func plan(_ head: RequestHead, snapshot: DeploymentCatalog.Snapshot, responseDate: ResponseDate, memo: RouteMemo?) -> Plan {
        let date = responseDate.imfFixdate
        let close = !head.keepAlive
        let http10KeepAlive = head.keepAlive && head.version == .http1_0
        let isHead: Bool
        switch head.method {
        case .get: isHead = false
        case .head: isHead = true
        default:
            return ArtifactResponder.error(
                405, "method not allowed", date: date, close: close,
                http10KeepAlive: http10KeepAlive, extra: "Allow: GET, HEAD\r\n")
        }
        func fail(_ status: Int, _ message: String) -> Plan {
            ArtifactResponder.error(
                status, message, date: date, close: close, http10KeepAlive: http10KeepAlive,
                omitBody: isHead)
        }
        let hostField = head.value(of: .host)
        let resolution: RouteMemo.Resolution
        if let memo, let hostField {
            // Only with a Host field: without one the outcome also depends on the HTTP version.
            let key = RouteMemo.Key(host: hostField, target: head.target)
            if let remembered = memo.lookup(key) {
                resolution = remembered
            } else {
                switch resolve(head, hostField: hostField, snapshot: snapshot, fail: fail) {
                case .failed(let plan): return plan
                case .found(let found):
                    memo.remember(key, found)
                    resolution = found
                }
            }
        } else {
            switch resolve(head, hostField: hostField, snapshot: snapshot, fail: fail) {
            case .failed(let plan): return plan
            case .found(let found): resolution = found
            }
        }
        if let app = resolution.app, let page = resolution.page {
            return planPage(
                page, head: head, isHead: isHead, app: app, date: date, close: close,
                http10KeepAlive: http10KeepAlive, fail: fail)
        }
        guard let app = resolution.app, let file = resolution.file else {
            var missing = fail(404, "not found")
            missing.app = resolution.app
            return missing
        }

        // A Range request gets the representation a plain GET with the same Accept-Encoding (and
        // Available-Dictionary) gets, and its range is taken from those bytes: variants are
        // immutable stored blobs, so a range of one is exact, and its ETag, compared with
        // If-Range, names it. A dcz delta is the exception: it is not offered for ranges (no
        // Accept-Ranges) and a Range request for it gets the whole delta (200), as nginx does
        // for a representation it will not slice.
        let rangeField = isHead ? nil : head.value(of: .range)
        guard
            let coding = ContentNegotiation.select(
                acceptEncoding: head.value(of: .acceptEncoding),
                available: file.available)
        else { return fail(406, "no acceptable content coding") }
        guard var rep = file.representation(coding) else { return fail(500, "missing representation") }
        if let delta = DictionaryNegotiation.delta(for: head, file: file) {
            rep = delta
        }
        let rangeable = rep.coding != .dcz

        let outcome = ConditionalRequest.evaluate(
            method: isHead ? .head : .get,
            validators: .init(etag: rep.etag, lastModified: file.entry.lastModified),
            headers: .init(
                ifMatch: head.value(of: .ifMatch),
                ifUnmodifiedSince: head.value(of: .ifUnmodifiedSince),
                ifNoneMatch: head.value(of: .ifNoneMatch),
                ifModifiedSince: head.value(of: .ifModifiedSince),
                ifRange: head.value(of: .ifRange),
                hasRange: rangeField != nil && rangeable))
        var plan = Plan(
            status: 200, earlyHints: nil, head: [], body: .none, close: close,
            app: app, path: file.entry.path, file: file)
        switch outcome {
        case .notModified:
            var b = ResponseHeadWriter(status: 304, date: date, server: "wharf")
            b.fieldLines(rep.notModifiedHeaders)
            plan.status = 304
            plan.head = b.end(close: close, http10KeepAlive: http10KeepAlive)
            return plan
        case .preconditionFailed:
            var failed = fail(412, "precondition failed")
            failed.app = app
            return failed
        case .proceed(let rangeAllowed):
            if rangeAllowed, let rangeField {
                switch ByteRange.resolve(rangeField, length: rep.size) {
                case .ignored:
                    break
                case .unsatisfiable:
                    var b = ResponseHeadWriter(status: 416, date: date, server: "wharf")
                    b.header("Content-Range", ByteRange.unsatisfiedContentRange(completeLength: rep.size))
                    b.contentLength(0)
                    b.fieldLines(rep.notModifiedHeaders)
                    plan.status = 416
                    plan.head = b.end(close: close, http10KeepAlive: http10KeepAlive)
                    return plan
                case .single(let span):
                    var b = ResponseHeadWriter(status: 206, date: date, server: "wharf")
                    b.contentLength(span.count)
                    b.header("Content-Range", ByteRange.contentRange(span, completeLength: rep.size))
                    b.fieldLines(rep.fixedHeaders)
                    plan.status = 206
                    plan.head = b.end(close: close, http10KeepAlive: http10KeepAlive)
                    plan.body = .representation(file, rep, .single(offset: span.first, length: span.count))
                    return plan
                case .multiple where rep.coding != .identity:
                    // Parts of an encoded representation would need a Content-Encoding that a
                    // multipart/byteranges response cannot carry for them: the whole variant (200),
                    // which RFC 9110 §14.2 allows in place of any Range.
                    break
                case .multiple(let spans):
                    let multipart = MultipartByteRanges(
                        spans: spans, contentType: file.contentType,
                        completeLength: rep.size,
                        boundary: ArtifactResponder.boundary(for: rep))
                    var b = ResponseHeadWriter(status: 206, date: date, server: "wharf")
                    b.contentLength(multipart.contentLength)
                    b.header("Content-Type", multipart.responseContentType)
                    b.fieldLines(rep.notModifiedHeaders)
                    b.header("Accept-Ranges", "bytes" as StaticString)
                    b.header("X-Content-Type-Options", "nosniff" as StaticString)
                    plan.status = 206
                    plan.head = b.end(close: close, http10KeepAlive: http10KeepAlive)
                    plan.body = .representation(file, rep, .multipart(multipart))
                    return plan
                }
            }
            plan.head = rep.okHead
            plan.headTail = responseDate.tail(close: close, http10KeepAlive: http10KeepAlive)
            plan.body = isHead ? .none : .representation(file, rep, .whole)
            // RFC 8297: 103 is an HTTP/1.1 interim response; HTTP/1.0 clients can't parse it.
            if earlyHints, head.version != .http1_0, let hints = file.earlyHintsHead {
                plan.earlyHints = hints
            }
            return plan
        }
    }

    /// The generated `/_downloads` page: preconditions as for files (ETag, Last-Modified), no
    /// ranges (a Range field is ignored: a whole 200), HEAD without the body.
    private func planPage(
        _ page: DownloadsPage, head: RequestHead, isHead: Bool, app: String, date: [UInt8], close: Bool,
        http10KeepAlive: Bool, fail: (Int, String) -> Plan
    ) -> Plan {
        let outcome = ConditionalRequest.evaluate(
            method: isHead ? .head : .get,
            validators: .init(etag: page.etag, lastModified: page.lastModified),
            headers: .init(
                ifMatch: head.value(of: .ifMatch),
                ifUnmodifiedSince: head.value(of: .ifUnmodifiedSince),
                ifNoneMatch: head.value(of: .ifNoneMatch),
                ifModifiedSince: head.value(of: .ifModifiedSince),
                ifRange: nil, hasRange: false))
        var plan = Plan(status: 200, earlyHints: nil, head: [], body: .none, close: close, app: app, path: DownloadsPage.path)
        switch outcome {
        case .notModified:
            var b = ResponseHeadWriter(status: 304, date: date, server: "wharf")
            b.fieldLines(page.validatorHeaders)
            plan.status = 304
            plan.head = b.end(close: close, http10KeepAlive: http10KeepAlive)
        case .preconditionFailed:
            var failed = fail(412, "precondition failed")
            failed.app = app
            return failed
        case .proceed:
            var b = ResponseHeadWriter(status: 200, date: date, server: "wharf")
            b.contentLength(Int64(page.body.count))
            b.fieldLines(page.fixedHeaders)
            plan.head = b.end(close: close, http10KeepAlive: http10KeepAlive)
            plan.body = isHead ? .none : .bytes(page.body)
        }
        return plan
    }

    /// A multipart boundary that cannot occur in the body's part heads: derived from the ETag.
    static func boundary(for rep: ServedFile.Representation) -> String {
        "wharf-"
            + String(decoding: rep.etag.opaque.prefix(24), as: UTF8.self)
            .filter { $0.isLetter || $0.isNumber }
    }

    /// A short text/plain error response.
    public static func error(
        _ status: Int, _ message: String, date: [UInt8], close: Bool,
        http10KeepAlive: Bool = false, extra: String = "", omitBody: Bool = false
    ) -> Plan {
        let body = Array((message + "\n").utf8)
        var b = ResponseHeadWriter(status: status, date: date, server: "wharf")
        b.contentLength(Int64(body.count))
        b.fieldLines(Array("Content-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\n".utf8))
        b.fieldLines(Array(extra.utf8))
        return Plan(
            status: status, earlyHints: nil, head: b.end(close: close, http10KeepAlive: http10KeepAlive),
            body: omitBody ? .none : .bytes(body), close: close, app: nil, path: nil)
    }
}
