import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import Testing
import TarnCore
@testable import TarnServer

/// `HTTP1Wire` against NIO's own HTTP/1 decoder and encoder, the path it stands in for: every
/// head it reads must be the request NIO would have made of the same bytes, and every response
/// head it writes the bytes NIO would have written.
@Suite struct HTTP1WireTests {
    /// The request NIO's decoder and the HTTP types codec make of `bytes` (nil if they make none).
    private func nioRequest(_ bytes: [UInt8]) throws -> HTTPRequest? {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder()))
        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
        defer { _ = try? channel.finish() }
        guard (try? channel.writeInbound(ByteBuffer(bytes: bytes))) != nil else { return nil }
        guard case let .head(request)? = try channel.readInbound(as: HTTPRequestPart.self) else { return nil }
        return request
    }

    private func parsed(_ text: String) -> HTTP1Wire.Parsed { HTTP1Wire.parseRequestHead(ByteBuffer(string: text)) }

    /// Requests built from parts a client sends, some of them ones this parser must refuse.
    private func randomRequest(_ rng: inout SplitMix) -> String {
        let methods = ["GET", "HEAD", "GET", "HEAD", "PUT", "DELETE", "get"]
        let targets = ["/bench/main/a.bin", "/r/main/dir/x%20y.txt", "/r/main/k?uploads", "/", "http://h/r/main/a", "/r/main/%E2%82%AC"]
        let names = ["Host", "host", "Authorization", "X-Amz-Date", "x-amz-content-sha256", "Range", "If-None-Match", "Accept-Encoding",
                     "User-Agent", "Content-Length", "Transfer-Encoding", "Connection", "X-Request-Id", "Cookie", "X-Weird_Name"]
        let values = ["127.0.0.1:8000", "AWS4-HMAC-SHA256 Credential=AK/20261204/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=ab",
                      "bytes=0-99", "\"etag\"", "0", "12", "chunked", "keep-alive", "close", "  padded value\t", "", "a  b   c", "gzip, deflate"]
        var text = "\(methods.randomElement(using: &rng)!) \(targets.randomElement(using: &rng)!) "
        text += Int.random(in: 0..<8, using: &rng) == 0 ? "HTTP/1.0\r\n" : "HTTP/1.1\r\n"
        for _ in 0..<Int.random(in: 0...8, using: &rng) {
            text += "\(names.randomElement(using: &rng)!):\(Bool.random(using: &rng) ? " " : "")\(values.randomElement(using: &rng)!)\r\n"
        }
        if Int.random(in: 0..<10, using: &rng) == 0 { text += " folded\r\n" }
        return text + "\r\n"
    }

    @Test func readsWhatNIOReadsOrLeavesItToNIO() throws {
        var rng = SplitMix(seed: 20_261_204)
        var read = 0
        for _ in 0..<2_000 {
            let text = randomRequest(&rng)
            guard case let .head(request, length) = parsed(text) else { continue }
            read += 1
            #expect(length == text.utf8.count, "\(text)")
            let expected = try nioRequest(Array(text.utf8))
            #expect(request == expected, "\(text)")
        }
        // The generator makes plain GETs and HEADs often enough that most are read here.
        #expect(read > 200)
    }

    @Test func refusesWhatItDoesNotRead() {
        for text in ["PUT /r/main/a HTTP/1.1\r\nHost: h\r\n\r\n", "GET /r/main/a HTTP/1.0\r\nHost: h\r\n\r\n",
                     "GET /r/main/a?acl HTTP/1.1\r\nHost: h\r\n\r\n", "GET http://h/r/main/a HTTP/1.1\r\n\r\n",
                     "GET /r/main/a HTTP/1.1\r\nHost: h\r\nHost: i\r\n\r\n", "GET /r/main/a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
                     "GET /r/main/a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", "GET /r/main/a HTTP/1.1\r\nX: a\r\n b\r\n\r\n",
                     "GET /r/main/a HTTP/1.1\r\nX: caf\u{E9}\r\n\r\n", "GET /r/main/a HTTP/1.1\r\nBad Name: v\r\n\r\n",
                     "GET /r/main/a HTTP/1.1\r\nX: a\nY: b\r\n\r\n", "POST / HTTP/1.1\r\n"] {
            guard case .unsupported = parsed(text) else {
                Issue.record("read: \(text.debugDescription)")
                continue
            }
        }
    }

    @Test func waitsForTheRestOfAHead() {
        let text = "HEAD /r/main/a HTTP/1.1\r\nHost: h\r\nRange: bytes=0-1\r\n\r\n"
        let bytes = Array(text.utf8)
        for cut in 0..<bytes.count {
            guard case .incomplete = HTTP1Wire.parseRequestHead(ByteBuffer(bytes: bytes[..<cut])) else {
                Issue.record("cut at \(cut): not incomplete")
                continue
            }
        }
        // A head longer than the limit never completes here.
        guard case .unsupported = parsed("GET /a HTTP/1.1\r\nX: " + String(repeating: "v", count: HTTP1Wire.maxHeadLength)) else {
            Issue.record("an endless head was kept waiting")
            return
        }
    }

    @Test func readsPipelinedHeadsOneAtATime() {
        let first = "GET /r/main/a HTTP/1.1\r\nHost: h\r\n\r\n", second = "HEAD /r/main/b HTTP/1.1\r\nHost: h\r\n\r\n"
        guard case let .head(request, length) = parsed(first + second) else {
            Issue.record("first head not read")
            return
        }
        #expect(request.path == "/r/main/a" && length == first.utf8.count)
    }

    /// The bytes NIO's encoder writes for `response` as the answer to a request with `method`.
    private func nioResponseHead(_ response: HTTPResponse, method: HTTPMethod) throws -> String {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(HTTPResponseEncoder())
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder()))
        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
        defer { _ = try? channel.finish() }
        try channel.writeInbound(ByteBuffer(string: "\(method.rawValue) /x HTTP/1.1\r\nHost: h\r\n\r\n"))
        try channel.writeOutbound(HTTPResponsePart.head(response))
        var out = ""
        while let part = try channel.readOutbound(as: IOData.self) {
            guard case let .byteBuffer(buffer) = part else { continue }
            out += String(buffer: buffer)
        }
        return out
    }

    @Test func writesResponseHeadsAsNIOsEncoderDoes() throws {
        let fields: [HTTPFields] = [
            [.contentLength: "4096", .eTag: "\"abc\"", .contentType: "application/octet-stream", .lastModified: "Fri, 04 Dec 2026 03:56:06 GMT"],
            [.contentLength: "100", .contentRange: "bytes 0-99/4096", HTTPField.Name("x-amz-meta-owner")!: "ml"],
            [.eTag: "\"abc\"", .contentLength: "4096"],
            [.eTag: "\"abc\"", .transferEncoding: "chunked"],
        ]
        for status in [HTTPResponse.Status.ok, .partialContent, .notModified, .noContent, .preconditionFailed] {
            for f in fields {
                let response = HTTPResponse(status: status, headerFields: f)
                var buffer = ByteBuffer()
                let mayHaveBody = status != .notModified && status != .noContent
                guard HTTP1Wire.writeResponseHead(response, into: &buffer) else {
                    // Only a response that needs chunked framing is left to the encoder.
                    #expect(mayHaveBody && f[.contentLength] == nil)
                    continue
                }
                for method in [HTTPMethod.GET, .HEAD] {
                    #expect(String(buffer: buffer) == (try nioResponseHead(response, method: method)), "\(status) \(f) \(method)")
                }
                // Extra fields are written as if appended to the response's own.
                let extra = [HTTPField(name: .date, value: "Fri, 04 Dec 2026 03:56:06 GMT"), HTTPField(name: .server, value: "tarn")]
                var appended = response
                appended.headerFields.append(contentsOf: extra)
                var withExtra = ByteBuffer()
                #expect(HTTP1Wire.writeResponseHead(response, extra: extra, into: &withExtra))
                #expect(String(buffer: withExtra) == (try nioResponseHead(appended, method: .GET)), "\(status) \(f) with extra fields")
            }
        }
    }
}
