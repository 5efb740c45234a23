import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TarnBlock
import TarnCore

extension S3Error: BodyRejection {}

/// A request body checked as it streams: the SHA-256 the signature covers, the client's
/// `Content-MD5` and `x-amz-checksum-*` header. A mismatch throws at the end of the body,
/// before the store publishes anything, so the object is never staged.
struct VerifiedBody: AsyncSequence {
    typealias Element = [UInt8]

    enum Source {
        case plain(RequestBody)
        case chunked(AwsChunkedBody)
    }

    let source: Source
    /// Hex SHA-256 to match, or nil.
    let sha256: String?
    /// Base64 MD5 to match, or nil.
    let md5: String?
    /// An `x-amz-checksum-*` header: algorithm and base64 value.
    let checksum: (ChecksumAlgorithm, String)?

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

        mutating func next() async throws -> [UInt8]? {
            let chunk: [UInt8]?
            switch base {
            case var .plain(it):
                chunk = try await it.next().map { Array($0.readableBytesView) }
                base = .plain(it)
            case var .chunked(it):
                chunk = try await it.next()
                base = .chunked(it)
            }
            guard let chunk else {
                if let expected = sha256Expected, ContentHash.hex(sha.finalize()) != expected.lowercased() {
                    throw S3Error("XAmzContentSHA256Mismatch", .badRequest, "The provided 'x-amz-content-sha256' header does not match what was computed.")
                }
                if let expected = md5Expected, Data(md5.finalize()).base64EncodedString() != expected {
                    throw S3Error("BadDigest", .badRequest, "The Content-MD5 you specified did not match what we received.")
                }
                if let expected = checksumExpected, let running, running.finalBase64() != expected {
                    throw S3Error("BadDigest", .badRequest, "The \(running.algorithm.header) you specified did not match the calculated checksum.")
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
        return AsyncIterator(base: base, sha256Expected: sha256, md5Expected: md5, checksumExpected: checksum?.1,
                             running: checksum.map { RunningChecksum($0.0) })
    }
}
