import Crypto
import Foundation
import Hummingbird
import NIOCore
import TarnAuth
import TarnCore

/// An `aws-chunked` request body (`Content-Encoding: aws-chunked`), decoded as it streams:
/// `<hex size>[;chunk-signature=<sig>]\r\n<bytes>\r\n` … `0…\r\n[trailers]\r\n`. With
/// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` every chunk's signature is checked against the chain
/// that starts at the request's; with `…-TRAILER` the trailer's signature, when signed, is
/// checked at the end, and its checksum handed to `VerifiedBody` (which computes it). Any
/// mismatch throws before the store publishes.
struct AwsChunkedBody: AsyncSequence {
    typealias Element = ByteBuffer
    let base: RequestBody
    let principal: S3Principal
    let signed: Bool
    /// The declared trailer (`x-amz-trailer`), e.g. `x-amz-checksum-crc32`.
    let trailer: String?
    let decodedLength: Int64?
    static let maxChunk = 16 << 20

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: RequestBody.AsyncIterator
        let body: AwsChunkedBody
        var buffer: [UInt8] = []
        var start = 0
        var previousSignature: String
        /// The declared trailer's value, once the body ended.
        private(set) var trailerValue: String?
        var total: Int64 = 0
        var finished = false

        init(_ body: AwsChunkedBody) {
            self.body = body
            base = body.base.makeAsyncIterator()
            previousSignature = body.principal.seedSignature
        }

        static func bad(_ m: String) -> S3Error { S3Error("IncompleteBody", .badRequest, "aws-chunked body: \(m)") }

        mutating func fill() async throws {
            guard let more = try await base.next() else { throw Self.bad("ended early") }
            if start > 0 && start == buffer.count { buffer.removeAll(keepingCapacity: true); start = 0 }
            buffer += more.readableBytesView
        }

        mutating func line() async throws -> String {
            while true {
                if let i = buffer[start...].firstIndex(of: 0x0A) {
                    guard i > start, buffer[i - 1] == 0x0D else { throw Self.bad("bad line ending") }
                    let text = String(decoding: buffer[start..<(i - 1)], as: UTF8.self)
                    start = i + 1
                    return text
                }
                if buffer.count - start > 4096 { throw Self.bad("header line too long") }
                try await fill()
            }
        }

        mutating func next() async throws -> ByteBuffer? {
            if finished { return nil }
            let header = try await line()
            let fields = header.split(separator: ";", maxSplits: 1)
            guard let sizeText = fields.first, let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16),
                  size >= 0, size <= AwsChunkedBody.maxChunk else { throw Self.bad("bad chunk size \(header)") }
            var given: String?
            if fields.count == 2, fields[1].hasPrefix("chunk-signature=") { given = String(fields[1].dropFirst("chunk-signature=".count)) }
            while buffer.count - start < size { try await fill() }
            let data = buffer.withUnsafeBytes { ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: $0[start..<(start + size)])) }
            start += size
            if body.signed {
                guard let given else { throw S3Error.from(S3AuthError.signatureDoesNotMatch) }
                let toSign = ["AWS4-HMAC-SHA256-PAYLOAD", body.principal.amzDate, body.principal.scope.text, previousSignature,
                              SigV4.emptySHA256, data.withUnsafeReadableBytes { ContentHash.hex(SHA256.hash(data: $0)) }].joined(separator: "\n")
                let expected = SigV4.sign(toSign, key: SymmetricKey(data: body.principal.signingKeyBytes))
                guard SigV4.constantTimeEqual(expected, given) else { throw S3Error.from(S3AuthError.signatureDoesNotMatch) }
                previousSignature = expected
            }
            if size > 0 {
                while buffer.count - start < 2 { try await fill() }
                guard buffer[start] == 0x0D, buffer[start + 1] == 0x0A else { throw Self.bad("chunk not followed by CRLF") }
                start += 2
                total += Int64(size)
                return data
            }
            // The last chunk: trailers until an empty line.
            var trailers: [String: String] = [:]
            while true {
                let l = try await line()
                if l.isEmpty { break }
                guard let colon = l.firstIndex(of: ":") else { throw Self.bad("bad trailer \(l)") }
                trailers[l[..<colon].lowercased()] = l[l.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            finished = true
            if let expected = body.decodedLength, expected != total { throw Self.bad("decoded length \(total) is not \(expected)") }
            if let name = body.trailer?.lowercased() {
                guard let value = trailers[name] else { throw Self.bad("missing trailer \(name)") }
                if body.signed {
                    guard let sig = trailers["x-amz-trailer-signature"] else { throw S3Error.from(S3AuthError.signatureDoesNotMatch) }
                    let toSign = ["AWS4-HMAC-SHA256-TRAILER", body.principal.amzDate, body.principal.scope.text, previousSignature,
                                  ContentHash.sha256Hex(Array("\(name):\(value)\n".utf8))].joined(separator: "\n")
                    let expected = SigV4.sign(toSign, key: SymmetricKey(data: body.principal.signingKeyBytes))
                    guard SigV4.constantTimeEqual(expected, sig) else { throw S3Error.from(S3AuthError.signatureDoesNotMatch) }
                }
                trailerValue = value
            }
            return nil
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(self) }
}
