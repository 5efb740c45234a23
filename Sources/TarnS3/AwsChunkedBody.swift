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
///
/// A chunk's bytes are handed on as slices of the connection's buffers as they arrive, not
/// gathered first: only the framing lines are copied, so a chunk of any size costs no memory
/// and no copy here. Its signature is checked when its last byte has arrived, before that
/// byte is handed on, so a bad chunk still fails the body before it can be stored.
struct AwsChunkedBody: AsyncSequence {
    typealias Element = ByteBuffer
    let base: RequestBody
    let signing: Signing?
    /// The declared trailer (`x-amz-trailer`), e.g. `x-amz-checksum-crc32`.
    let trailer: String?
    let decodedLength: Int64?
    /// The longest framing line (a chunk header or a trailer) accepted.
    static let maxLine = 4096

    /// What checks a signed body's chunks: the request's signature starts the chain.
    struct Signing: Sendable {
        var seedSignature: String
        var amzDate: String
        var scopeText: String
        var key: SigV4.SigningKey
    }

    init(base: RequestBody, signing: Signing?, trailer: String?, decodedLength: Int64?) {
        self.base = base
        self.signing = signing
        self.trailer = trailer
        self.decodedLength = decodedLength
    }

    init(base: RequestBody, principal: S3Principal, signed: Bool, trailer: String?, decodedLength: Int64?) {
        let signing = signed ? Signing(seedSignature: principal.seedSignature, amzDate: principal.amzDate,
                                       scopeText: principal.scope.text,
                                       key: SigV4.SigningKey(SymmetricKey(data: principal.signingKeyBytes))) : nil
        self.init(base: base, signing: signing, trailer: trailer, decodedLength: decodedLength)
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: RequestBody.AsyncIterator
        let body: AwsChunkedBody
        /// Bytes read from the connection and not decoded yet.
        var pending = ByteBuffer()
        /// What is left of the current chunk's bytes.
        var remaining = 0
        /// The current chunk's hash and the signature it must have (signed bodies).
        var chunkHash = SHA256()
        var chunkSignature: String?
        var previousSignature: String
        /// The declared trailer's value, once the body ended.
        private(set) var trailerValue: String?
        var total: Int64 = 0
        var finished = false

        init(_ body: AwsChunkedBody) {
            self.body = body
            base = body.base.makeAsyncIterator()
            previousSignature = body.signing?.seedSignature ?? ""
        }

        static func bad(_ m: String) -> S3Error { S3Error("IncompleteBody", .badRequest, "aws-chunked body: \(m)") }

        /// Makes sure some bytes are pending: the connection's next buffer, as it is.
        mutating func fill() async throws {
            guard pending.readableBytes == 0 else { return }
            guard let more = try await base.next() else { throw Self.bad("ended early") }
            pending = more
        }

        /// The next framing line, without its CRLF; it may span the connection's buffers.
        mutating func line() async throws -> String {
            var text: [UInt8] = []
            while true {
                try await fill()
                let view = pending.readableBytesView
                if let i = view.firstIndex(of: 0x0A) {
                    text += view[view.startIndex..<i]
                    pending.moveReaderIndex(to: i + 1)
                    guard text.last == 0x0D else { throw Self.bad("bad line ending") }
                    text.removeLast()
                    if text.count > AwsChunkedBody.maxLine { throw Self.bad("header line too long") }
                    return String(decoding: text, as: UTF8.self)
                }
                text += view
                pending.moveReaderIndex(forwardBy: view.count)
                if text.count > AwsChunkedBody.maxLine + 1 { throw Self.bad("header line too long") }
            }
        }

        mutating func next() async throws -> ByteBuffer? {
            while !finished {
                if remaining > 0 {
                    try await fill()
                    let piece = pending.readSlice(length: Swift.min(remaining, pending.readableBytes))!
                    remaining -= piece.readableBytes
                    total += Int64(piece.readableBytes)
                    if let limit = body.decodedLength, total > limit { throw Self.bad("longer than its decoded length \(limit)") }
                    if body.signing != nil { piece.withUnsafeReadableBytes { chunkHash.update(bufferPointer: $0) } }
                    if remaining == 0 { try await endChunk() }
                    return piece
                }
                try await startChunk()
            }
            return nil
        }

        /// Reads a chunk's header; a last chunk (size 0) ends the body with its trailers.
        mutating func startChunk() async throws {
            let header = try await line()
            let fields = header.split(separator: ";", maxSplits: 1)
            guard let sizeText = fields.first, let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16),
                  size >= 0 else { throw Self.bad("bad chunk size \(header)") }
            chunkSignature = nil
            if fields.count == 2, fields[1].hasPrefix("chunk-signature=") {
                chunkSignature = String(fields[1].dropFirst("chunk-signature=".count))
            }
            if body.signing != nil, chunkSignature == nil { throw S3Error.from(S3AuthError.signatureDoesNotMatch) }
            chunkHash = SHA256()
            if size > 0 {
                remaining = size
            } else {
                try checkSignature()
                try await endBody()
            }
        }

        /// After a chunk's last byte: its signature, then the CRLF that closes it.
        mutating func endChunk() async throws {
            try checkSignature()
            var crlf: [UInt8] = []
            while crlf.count < 2 {
                try await fill()
                crlf.append(pending.readInteger(as: UInt8.self)!)
            }
            guard crlf == [0x0D, 0x0A] else { throw Self.bad("chunk not followed by CRLF") }
        }

        /// A signed body's chunk must carry the signature that chains on from the one before.
        mutating func checkSignature() throws {
            guard let signing = body.signing else { return }
            let toSign = ["AWS4-HMAC-SHA256-PAYLOAD", signing.amzDate, signing.scopeText, previousSignature,
                          SigV4.emptySHA256, ContentHash.hex(chunkHash.finalize())].joined(separator: "\n")
            let expected = signing.key.sign(toSign)
            guard let given = chunkSignature, SigV4.constantTimeEqual(expected, given) else {
                throw S3Error.from(S3AuthError.signatureDoesNotMatch)
            }
            previousSignature = expected
        }

        /// The trailers after the last chunk, until an empty line.
        mutating func endBody() async throws {
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
                if let signing = body.signing {
                    guard let sig = trailers["x-amz-trailer-signature"] else { throw S3Error.from(S3AuthError.signatureDoesNotMatch) }
                    let toSign = ["AWS4-HMAC-SHA256-TRAILER", signing.amzDate, signing.scopeText, previousSignature,
                                  ContentHash.sha256Hex(Array("\(name):\(value)\n".utf8))].joined(separator: "\n")
                    guard SigV4.constantTimeEqual(signing.key.sign(toSign), sig) else { throw S3Error.from(S3AuthError.signatureDoesNotMatch) }
                }
                trailerValue = value
            }
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(self) }
}
