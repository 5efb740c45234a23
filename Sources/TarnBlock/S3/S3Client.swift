import Crypto
import Foundation
import NIOCore
import Synchronization
import TarnCore
#if canImport(Glibc)
import Glibc
#endif

/// The S3 requests the block store makes, signed with TarnCore's SigV4 (the code the gateway
/// verifies with), sent through `CurlClient`, retried when that is safe, and failures turned
/// into `BlockStoreError`s that say what the backend said.
final class S3Client: @unchecked Sendable {
    let settings: S3Settings
    private let curl: CurlClient
    /// The event loops' own connections for small reads, when the endpoint is plain HTTP.
    let kept: KeptConnections?
    /// The signing key of the current day (derived once a day, not per request), with its
    /// scope's text and what the Authorization field starts with.
    private var key: SigningState?
    /// The last second's `x-amz-date` (made once a second, not per request).
    private var lastStamp: (second: Int, day: String, stamp: String)?
    private let keyLock = NSLock()

    private struct SigningState {
        var scope: SigV4.Scope
        var scopeText: String
        var key: SigV4.SigningKey
        /// `AWS4-HMAC-SHA256 Credential=<key id>/<scope>, SignedHeaders=`.
        var authorizationPrefix: String
    }

    /// The endpoint's parts, parsed once: URLComponents per request cost more than the
    /// signature.
    private let endpoint: (scheme: String, host: String, path: String, pathStyle: Bool)?

    init(settings: S3Settings) throws {
        self.settings = settings
        curl = try CurlClient(connectTimeout: settings.connectTimeout, stallTimeout: settings.stallTimeout)
        let (base, pathStyle) = settings.base
        if let parsed = URLComponents(string: base), let scheme = parsed.scheme, let host = parsed.host {
            endpoint = (scheme, parsed.port.map { "\(host):\($0)" } ?? host, parsed.path, pathStyle)
        } else {
            endpoint = nil
        }
        kept = endpoint?.scheme == "http" ? KeptConnections(connectTimeout: settings.connectTimeout, stallTimeout: settings.stallTimeout) : nil
    }

    /// A request before signing: bucket, decoded key, query, extra lower-case headers.
    struct Request: Sendable {
        var method: String
        var bucket: String
        var key: String = ""
        var query: [(name: String, value: String)] = []
        var headers: [String: String] = [:]
        var body: HTTPCall.Body = .empty
        /// Whether the request may be sent again after a failure (the body permitting).
        var idempotent = true
    }

    // MARK: signing

    private static func amzDate(_ t: time_t) -> (day: String, stamp: String) {
        var t = t
        var parts = tm()
        gmtime_r(&t, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let day = "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))"
        return (day, "\(day)T\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))Z")
    }

    /// The current `x-amz-date` and the signing state of its day.
    private func signingState() -> (stamp: String, state: SigningState) {
        let second = time(nil)
        let cached = keyLock.withLock { () -> (String, SigningState)? in
            guard let last = lastStamp, last.second == second, let key, key.scope.date == last.day else { return nil }
            return (last.stamp, key)
        }
        if let cached { return cached }
        let (day, stamp) = Self.amzDate(second)
        var state = keyLock.withLock { key }
        if state?.scope.date != day {
            let scope = SigV4.Scope(date: day, region: settings.region, service: "s3")
            state = SigningState(scope: scope, scopeText: scope.text,
                                 key: SigV4.SigningKey(SigV4.signingKey(secret: settings.secretAccessKey, scope: scope)),
                                 authorizationPrefix: "\(SigV4.algorithm) Credential=\(settings.accessKeyID)/\(scope.text), SignedHeaders=")
        }
        keyLock.withLock {
            lastStamp = (second, day, stamp)
            key = state
        }
        return (stamp, state!)
    }

    /// The signed HTTP call for `r`, made fresh for each attempt (the date is signed).
    func signed(_ r: Request) -> HTTPCall {
        guard let (scheme, endpointHost, endpointPath, pathStyle) = endpoint else {
            return HTTPCall(method: r.method, origin: settings.base.url, target: "", headers: [:])
        }
        var host = endpointHost, path = endpointPath
        if pathStyle { path += "/" + r.bucket } else { host = r.bucket + "." + host }
        if !r.key.isEmpty || pathStyle == false { path += "/" + r.key }
        let (stamp, signing) = signingState()
        var headers = r.headers
        headers["host"] = host
        headers["x-amz-date"] = stamp
        switch r.body {
        case .empty: headers["x-amz-content-sha256"] = SigV4.emptySHA256
        case let .bytes(b): headers["x-amz-content-sha256"] = ContentHash.sha256Hex(b)
        default: headers["x-amz-content-sha256"] = SigV4.unsignedPayload
        }
        let request = SigV4.Request(method: r.method, path: path, query: r.query, headers: headers)
        let names = headers.keys.sorted()
        let signature = SigV4.signature(request, signedHeaders: names, payloadHash: headers["x-amz-content-sha256"]!,
                                        amzDate: stamp, scopeText: signing.scopeText, key: signing.key)
        headers["authorization"] = signing.authorizationPrefix + names.joined(separator: ";") + ", Signature=" + signature
        var target = SigV4.uriEncode(path, keepSlash: true)
        if !r.query.isEmpty { target += "?" + SigV4.canonicalQuery(r.query) }
        return HTTPCall(method: r.method, origin: "\(scheme)://\(host)", target: target, headers: headers, body: r.body)
    }

    // MARK: sending

    /// Whether a failed attempt may be repeated: a connection-level failure, 500, 503 or
    /// SlowDown, on a request whose body can be sent again.
    private func retryable(_ outcome: Result<HTTPReply, CurlFailure>, _ r: Request) -> Bool {
        guard r.idempotent else { return false }
        if case let .stream(channel, _) = r.body, channel.delivered > 0 { return false }
        switch outcome {
        case .failure(let f): return f.code > 0  // curl's own codes; -1 is a body that failed
        // Only an error answer can say SlowDown: a 2xx body (a listing page) is not searched.
        case .success(let reply): return reply.status == 500 || reply.status == 503 || (reply.status >= 400 && Self.errorCode(reply.body) == "SlowDown")
        }
    }

    /// Exponential backoff with full jitter: 50 ms, 100 ms, 200 ms… capped at 2 s.
    private static func backoff(_ attempt: Int) -> UInt64 {
        let cap = min(2_000_000, 50_000 << min(attempt, 10))
        return UInt64.random(in: UInt64(cap / 2)...UInt64(cap)) * 1_000
    }

    /// Sends the GET `r` once, without retries, for a caller on `loop` with a slower path to
    /// fall back on: `complete` gets the body of `length` bytes, or nil for anything else, on
    /// `loop` and never before this returns. Over a connection of the loop's own when it has
    /// one idle (`KeptConnections`), else through curl.
    func read(_ r: Request, length: Int, on loop: any EventLoop, complete: @escaping (ByteBuffer?) -> Void) {
        let call = signed(r)
        if let kept, kept.get(call, length: length, on: loop, complete: complete) { return }
        let bound = NIOLoopBound(complete, eventLoop: loop)
        curl.start(call) { outcome in
            guard case let .success(reply) = outcome, (200..<300).contains(reply.status), reply.body.count == length else {
                return loop.execute { bound.value(nil) }
            }
            let body = ByteBuffer(bytes: reply.body)
            loop.execute { bound.value(body) }
        }
    }

    /// Sends `r` (retrying when that is safe) and returns a 2xx reply, or throws.
    /// `stream` and `onHeaders` as in `CurlClient.perform`.
    func send(_ r: Request, stream: ByteChannel? = nil, onHeaders: (@Sendable (Int, [String: String]) -> Void)? = nil) async throws -> HTTPReply {
        try await outcome(r, stream: stream, onHeaders: onHeaders).get()
    }

    /// `send`'s answer as a value: the reply, or the error the wire layers map.
    func outcome(_ r: Request, stream: ByteChannel? = nil, onHeaders: (@Sendable (Int, [String: String]) -> Void)? = nil) async -> Result<HTTPReply, BlockStoreError> {
        var attempt = 0
        while true {
            let outcome = await curl.perform(signed(r), stream: stream, onHeaders: onHeaders)
            let streamed = (stream?.accepted ?? 0) > 0
            if attempt < settings.maxRetries, !streamed, retryable(outcome, r) {
                try? await Task.sleep(nanoseconds: Self.backoff(attempt))
                attempt += 1
                continue
            }
            switch outcome {
            case let .failure(f):
                return .failure(f.code > 0 ? .unavailable("\(r.method) \(r.bucket)/\(r.key): \(f.message) (\(settings.base.url))") : .incompleteBody(f.message))
            case let .success(reply) where (200..<300).contains(reply.status):
                return .success(reply)
            case let .success(reply):
                return .failure(Self.error(reply, r))
            }
        }
    }

    /// Reads the body of the GET `r`, `length` bytes, straight into `channel` (see
    /// `CurlDownload`). True once the backend has answered it: the channel then gets the body
    /// and its end or failure. False when the download declined, with nothing in the channel:
    /// the caller makes the request the ordinary way.
    func download(_ r: Request, length: Int64, into channel: ByteChannel) async -> Bool {
        let base = settings.base.url
        return await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            let once = OnceFlag()
            curl.download(signed(r), length: length, into: channel, answered: { if once.claim() { c.resume(returning: true) } }) { end in
                switch end {
                case .done: channel.finish()
                case .declined: break
                case let .failed(why): channel.fail(BlockStoreError.unavailable("GET \(r.bucket)/\(r.key): \(why) (\(base))"))
                }
                if once.claim() { c.resume(returning: false) }
            }
        }
    }

    static func errorCode(_ body: [UInt8]) -> String? { element("Code", in: body) }

    /// The text of the first `<name>…</name>` in a small XML document.
    static func element(_ name: String, in body: [UInt8]) -> String? {
        XMLScan.text(name, in: body, 0..<body.count)
    }

    /// A non-2xx answer as the error the wire layers map: missing keys stay "not found",
    /// overload stays "unavailable", the rest is a bad gateway naming the backend's code.
    static func error(_ reply: HTTPReply, _ r: Request) -> BlockStoreError {
        let code = errorCode(reply.body) ?? "HTTP \(reply.status)"
        let message = element("Message", in: reply.body).map { ": \($0)" } ?? ""
        let what = "\(r.method) s3://\(r.bucket)/\(r.key) answered \(reply.status) \(code)\(message)"
        switch reply.status {
        case 404 where code == "NoSuchKey" || (r.method == "HEAD" && code == "HTTP 404"): return .notFound(r.key)
        case 416: return .invalidRange(size: -1)
        case 500, 503: return .unavailable(what)
        default: return .backend(what)
        }
    }
}
