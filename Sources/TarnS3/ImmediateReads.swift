import HTTPTypes
import Hummingbird
import NIOCore
import TarnBlock

/// GetObject and HeadObject of small objects, answered on the thread that read the request:
/// signature check, SQLite lookup and one `pread` from the page cache cost less than the hops
/// to a task and back that the router's async path takes (a 4 KiB GET spent about a third of
/// its server time on them). Bytes kept in S3 come from one backend GET that the event loop
/// starts and is called back from (`RemoteRead`); a long one, for a caller that owns the
/// client's connection, is relayed from the backend's (`RemoteRelay`). Everything else — any
/// query, a body, `Connection` or `Expect` headers, an error, a GET above
/// `ObjectReader.wholeReadLimit` that is not relayed, a backend read that failed — is left to
/// `respond(to:)`, which answers it as before, errors and retries included.
extension S3Gateway {
    public struct ImmediateAnswer {
        public enum Body {
            case none
            case bytes(ByteBuffer)
            /// To be fetched from the backend before `head` is sent.
            case remote(RemoteRead)
            /// To be relayed from the backend's connection to the client's after `head`
            /// (only when asked for: the caller must own the client's connection).
            case relay(RemoteRelay)
        }
        public var head: HTTPResponse
        public var body: Body
    }

    /// No `Connection` header but `keep-alive` (what `requests` sends with every request, and
    /// HTTP/1.1's default anyway): a `close` or an upgrade is left to the router, which acts on it.
    static func plainConnection(_ fields: HTTPFields) -> Bool {
        fields[.connection].map { $0.lowercased() == "keep-alive" } ?? true
    }

    /// An `Authorization` field, no body (`Content-Length` 0 at most, no `Transfer-Encoding`),
    /// no `Expect`, a plain connection: checked in one pass over the fields, as this runs for
    /// every small read.
    static func plainBodilessFields(_ fields: HTTPFields) -> Bool {
        var authorized = false
        for field in fields {
            switch field.name {
            case .authorization: authorized = true
            case .connection: if field.value.lowercased() != "keep-alive" { return false }
            case .contentLength: if field.value != "0" { return false }
            case .expect, .transferEncoding: return false
            default: break
            }
        }
        return authorized
    }

    /// The whole answer to `head` but for its request-ID headers, or nil when the request
    /// should take the usual path. `relaying`: a long read of bytes in S3 may be answered
    /// with a `RemoteRelay` (else it takes the usual path).
    public func answerImmediately(_ head: HTTPRequest, relaying: Bool = false) -> ImmediateAnswer? {
        guard head.method == .get || head.method == .head, let target = head.path, !target.utf8.contains(UInt8(ascii: "?")) else {
            return nil
        }
        guard Self.plainBodilessFields(head.headerFields) else { return nil }
        let request = Request(head: head, body: RequestBody(buffer: ByteBuffer()))
        guard claims(request) else { return nil }
        let r = S3Request(request, domain: domain)
        guard let bucket = r.bucket, r.key != nil else { return nil }
        do {
            _ = try authenticate(r)
            let (_, _, entry, repository) = try lookup(r, bucket)
            let answer = try objectAnswer(r, entry)
            var body = ImmediateAnswer.Body.none
            if head.method == .get && answer.hasBody {
                if let reader = try catalog.openLocal(entry, in: repository, range: answer.range) {
                    guard let bytes = try reader.readWholeNow() else { return nil }
                    body = .bytes(bytes)
                } else if let read = catalog.prepareRemoteRead(entry, in: repository, range: answer.range, limit: ObjectReader.wholeReadLimit) {
                    body = .remote(read)
                } else if relaying, let relay = catalog.prepareRemoteRelay(entry, in: repository, range: answer.range) {
                    body = .relay(relay)
                } else {
                    return nil
                }
            }
            return ImmediateAnswer(head: HTTPResponse(status: answer.status, headerFields: answer.headers), body: body)
        } catch {
            return nil
        }
    }
}
