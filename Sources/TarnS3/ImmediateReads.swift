import HTTPTypes
import Hummingbird
import NIOCore

/// GetObject and HeadObject of small local objects, answered on the thread that read the
/// request: signature check, SQLite lookup and one `pread` from the page cache cost less than
/// the hops to a task and back that the router's async path takes (a 4 KiB GET spent about a
/// third of its server time on them). Everything else — any query, a body, `Connection` or
/// `Expect` headers, an error, a GET of bytes in S3 or above `ObjectReader.wholeReadLimit` —
/// is left to `respond(to:)`, which answers it as before, errors included.
extension S3Gateway {
    public struct ImmediateAnswer {
        public var head: HTTPResponse
        public var body: ByteBuffer?
    }

    /// The whole answer to `head` but for its request-ID headers, or nil when the request
    /// should take the usual path.
    public func answerImmediately(_ head: HTTPRequest) -> ImmediateAnswer? {
        guard head.method == .get || head.method == .head, let target = head.path, !target.utf8.contains(UInt8(ascii: "?")) else {
            return nil
        }
        let fields = head.headerFields
        guard fields[.connection] == nil, fields[.expect] == nil, fields[.transferEncoding] == nil,
              (fields[.contentLength] ?? "0") == "0", fields[.authorization] != nil else { return nil }
        let request = Request(head: head, body: RequestBody(buffer: ByteBuffer()))
        guard claims(request) else { return nil }
        let r = S3Request(request, domain: domain)
        guard let bucket = r.bucket, r.key != nil else { return nil }
        do {
            // A repository on S3 keeps its bytes there: leave its GETs to the async path
            // before spending a signature check that path would repeat. A HEAD needs no bytes.
            let repository = try catalog.engine.repository(bucket)
            guard head.method == .head || !repository.storageNamespace.hasPrefix("s3://") else { return nil }
            _ = try authenticate(r)
            let (_, _, entry) = try lookup(r, bucket)
            let answer = try objectAnswer(r, entry)
            var body: ByteBuffer?
            if head.method == .get && answer.hasBody {
                guard let reader = try catalog.openLocal(entry, in: repository, range: answer.range),
                      let bytes = try reader.readWholeNow() else { return nil }
                body = bytes
            }
            return ImmediateAnswer(head: HTTPResponse(status: answer.status, headerFields: answer.headers), body: body)
        } catch {
            return nil
        }
    }
}
