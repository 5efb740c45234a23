import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization
import TarnBlock
import TarnCore

extension S3Error: BodyRejection {}

/// A request body checked as it streams: the SHA-256 the signature covers, the client's
/// `Content-MD5`, and an `x-amz-checksum-*` sent as a header or an aws-chunked trailer. A
/// mismatch throws at the end of the body, before the store publishes anything, so the object
/// is never staged. The checksum algorithm's value is computed whether or not the client sent
/// one (a part of an upload created with a checksum algorithm needs it) and is available in
/// `computed` once the body ended.
struct VerifiedBody: AsyncSequence {
    /// The connection's own buffers, uncopied: a store that keeps them (a backend upload's
    /// channel) takes them as they are.
    typealias Element = ByteBufferView

    enum Source {
        case plain(RequestBody)
        case chunked(AwsChunkedBody)
    }

    let source: Source
    /// Hex SHA-256 to match, or nil.
    let sha256: String?
    /// Base64 MD5 to match, or nil.
    let md5: String?
    /// The algorithm computed as the body streams, or nil.
    let algorithm: ChecksumAlgorithm?
    /// The value the client sent in a header (base64), or nil; a trailer's comes at the end.
    let expected: String?
    /// The computed checksum, set when the body ended.
    let computed = ComputedChecksum()

    struct AsyncIterator: AsyncIteratorProtocol {
        enum Base {
            case plain(RequestBody.AsyncIterator)
            case chunked(AwsChunkedBody.AsyncIterator)
        }
        var base: Base
        let sha256Expected: String?
        let md5Expected: String?
        let checksumExpected: String?
        var sha = SHA256()
        var md5 = Insecure.MD5()
        var running: RunningChecksum?
        let computed: ComputedChecksum

        mutating func next() async throws -> ByteBufferView? {
            let chunk: ByteBufferView?
            var trailer: String?
            switch base {
            case var .plain(it):
                chunk = try await it.next()?.readableBytesView
                base = .plain(it)
            case var .chunked(it):
                chunk = try await it.next()?.readableBytesView
                trailer = it.trailerValue
                base = .chunked(it)
            }
            guard let chunk else {
                if let expected = sha256Expected, ContentHash.hex(sha.finalize()) != expected.lowercased() {
                    throw S3Error("XAmzContentSHA256Mismatch", .badRequest, "The provided 'x-amz-content-sha256' header does not match what was computed.")
                }
                if let expected = md5Expected, Data(md5.finalize()).base64EncodedString() != expected {
                    throw S3Error("BadDigest", .badRequest, "The Content-MD5 you specified did not match what we received.")
                }
                if let running {
                    let value = running.finalBase64()
                    for expected in [checksumExpected, trailer].compactMap({ $0 }) where expected != value {
                        throw S3Error("BadDigest", .badRequest, "The \(running.algorithm.header) you specified did not match the calculated checksum.")
                    }
                    computed.set(value)
                }
                return nil
            }
            chunk.withUnsafeBytes { bytes in
                if sha256Expected != nil { sha.update(bufferPointer: bytes) }
                if md5Expected != nil { md5.update(bufferPointer: bytes) }
                running?.update(bytes)
            }
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        let base: AsyncIterator.Base
        switch source {
        case let .plain(body): base = .plain(body.makeAsyncIterator())
        case let .chunked(body): base = .chunked(body.makeAsyncIterator())
        }
        return AsyncIterator(base: base, sha256Expected: sha256, md5Expected: md5, checksumExpected: expected,
                             running: algorithm.map { RunningChecksum($0) }, computed: computed)
    }
}

/// Where a body's computed checksum lands for the handler that streamed it to the store.
final class ComputedChecksum: Sendable {
    private let value = Mutex<String?>(nil)

    func set(_ v: String) { value.withLock { $0 = v } }

    /// The base64 value, once the body was read to its end.
    var base64: String? { value.withLock { $0 } }
}
