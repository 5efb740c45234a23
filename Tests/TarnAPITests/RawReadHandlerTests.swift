import Foundation
import Logging
import NIOCore
import NIOEmbedded
import Testing
import TarnAuth
import TarnCatalog
import TarnCore
import TarnS3
@testable import TarnServer

/// `RawReadHandler` on a channel of its own, over a real gateway and catalog: which requests it
/// answers from the bytes, and that everything else reaches the next stage byte for byte.
@Suite struct RawReadHandlerTests {
    let server: TestServer
    let key = AccessKey(accessKeyID: "AKIARAWREADTEST00000", secretAccessKey: "raw-read-secret")
    let body = Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7) })

    init() async throws {
        server = try TestServer()
        let auth = try openAuthenticator(catalog: server.catalog, dataDirectory: server.directory)
        _ = try auth.ensureAdmin(fixed: key)
        _ = try await server.catalog.createRepository(name: "raw-reads", storageNamespace: "local://raw-reads", defaultBranch: "main")
        _ = try await server.catalog.upload(repository: "raw-reads", branch: "main", path: "a.bin", body: [Array(body)].async,
                                            contentType: "application/x-test", metadata: [:])
        gateway = S3Gateway(catalog: server.catalog, authenticator: auth)
    }

    let gateway: S3Gateway

    private func channel() throws -> EmbeddedChannel {
        let accounting = ImmediateAccounting(logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), metrics: nil)
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(RawReadHandler(gateway: gateway, accounting: accounting))
        return channel
    }

    /// A request signed as boto3 signs a bodiless one.
    private func signed(_ method: String, _ target: String, headers extra: [String: String] = [:], secret: String? = nil) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let amzDate = formatter.string(from: Date())
        var headers = ["host": "tarn.test", "x-amz-date": amzDate, "x-amz-content-sha256": SigV4.unsignedPayload]
        for (name, value) in extra { headers[name.lowercased()] = value }
        let path = String(target.prefix { $0 != "?" })
        let authorization = SigV4.authorization(SigV4.Request(method: method, path: path, query: [], headers: headers),
                                                accessKeyID: key.accessKeyID, secret: secret ?? key.secretAccessKey,
                                                scope: SigV4.Scope(date: String(amzDate.prefix(8)), region: "us-east-1", service: "s3"),
                                                amzDate: amzDate)
        return "\(method) \(target) HTTP/1.1\r\n" + headers.map { "\($0.key): \($0.value)\r\n" }.joined()
            + "Authorization: \(authorization)\r\n\r\n"
    }

    /// Everything written out once the event loop ran its tasks (the flush among them), as text.
    private func written(_ channel: EmbeddedChannel) throws -> String {
        channel.embeddedEventLoop.run()
        return try flushed(channel)
    }

    /// What was flushed so far, as text.
    private func flushed(_ channel: EmbeddedChannel) throws -> String {
        var out = ""
        while let part = try channel.readOutbound(as: IOData.self) {
            guard case let .byteBuffer(buffer) = part else { continue }
            out += String(decoding: buffer.readableBytesView, as: UTF8.self)
        }
        return out
    }

    /// Everything passed on to the next stage.
    private func passedOn(_ channel: EmbeddedChannel) throws -> String {
        var out = ""
        while let buffer = try channel.readInbound(as: ByteBuffer.self) { out += String(buffer: buffer) }
        return out
    }

    @Test func answersPipelinedReadsFromTheBytes() throws {
        let channel = try channel()
        try channel.writeInbound(ByteBuffer(string: signed("GET", "/raw-reads/main/a.bin") + signed("HEAD", "/raw-reads/main/a.bin")
                                                    + signed("GET", "/raw-reads/main/a.bin", headers: ["Range": "bytes=10-19"])))
        let out = try written(channel)
        #expect(try passedOn(channel).isEmpty)
        let responses = out.components(separatedBy: "HTTP/1.1 ").dropFirst()
        #expect(responses.count == 3)
        let expectedBody = String(decoding: body, as: UTF8.self)
        let get = Array(responses)[0], head = Array(responses)[1], range = Array(responses)[2]
        #expect(get.hasPrefix("200 OK\r\n") && get.contains("Content-Length: 4096\r\n") && get.contains("Content-Type: application/x-test\r\n"))
        #expect(get.hasSuffix("\r\n\r\n" + expectedBody))
        #expect(head.hasPrefix("200 OK\r\n") && head.contains("Content-Length: 4096\r\n") && head.hasSuffix("\r\n\r\n"))
        #expect(range.hasPrefix("206 Partial Content\r\n") && range.contains("Content-Range: bytes 10-19/4096\r\n"))
        #expect(range.hasSuffix("\r\n\r\n" + String(decoding: body[10...19], as: UTF8.self)))
        for response in responses { #expect(response.contains("Server: tarn\r\n") && response.contains("x-amz-request-id: ")) }
    }

    @Test func answersAHeadThatArrivesAByteAtATime() throws {
        let channel = try channel()
        let request = Array(signed("GET", "/raw-reads/main/a.bin").utf8)
        for byte in request.dropLast() {
            try channel.writeInbound(ByteBuffer(bytes: [byte]))
            #expect(try written(channel).isEmpty)
        }
        try channel.writeInbound(ByteBuffer(bytes: [request.last!]))
        #expect(try written(channel).hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(try passedOn(channel).isEmpty)
    }

    @Test func passesOnTheFirstRequestItDoesNotAnswerAndAllAfterIt() throws {
        let refused = [
            signed("GET", "/raw-reads/main/a.bin?x-id=GetObject"),                      // a query
            signed("GET", "/raw-reads/main/missing.bin"),                               // an error answer
            signed("GET", "/raw-reads/main/a.bin", secret: "wrong"),                    // a bad signature
            "PUT /r/main/b.bin HTTP/1.1\r\nHost: tarn.test\r\nContent-Length: 2\r\n\r\nhi",
        ]
        for first in refused {
            let channel = try channel()
            let answered = signed("HEAD", "/raw-reads/main/a.bin"), after = signed("GET", "/raw-reads/main/a.bin")
            try channel.writeInbound(ByteBuffer(string: answered + first))
            try channel.writeInbound(ByteBuffer(string: after))
            #expect(try written(channel).hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(try passedOn(channel) == first + after)
        }
    }

    @Test func flushesAfterTheTickOrAtOnceWhenTheInputOrConnectionCloses() throws {
        for ending in ["tick", "input closed", "close"] {
            let channel = try channel()
            try channel.writeInbound(ByteBuffer(string: signed("GET", "/raw-reads/main/a.bin") + signed("HEAD", "/raw-reads/main/a.bin")))
            // Answered, but not flushed until the loop has read every ready connection.
            #expect(try flushed(channel).isEmpty)
            switch ending {
            case "tick": channel.embeddedEventLoop.run()
            case "input closed": channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
            default: _ = channel.close()
            }
            let out = try flushed(channel)
            #expect(out.hasPrefix("HTTP/1.1 200 OK\r\n") && out.components(separatedBy: "HTTP/1.1 200 OK\r\n").count == 3, "\(ending)")
        }
    }
}
