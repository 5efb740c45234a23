import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TarnBlock
import TarnCore

extension S3Error: BodyRejection {}

/// A request body checked as it streams: the SHA-256 the signature covers and the client's
/// `Content-MD5`. A mismatch throws at the end of the body, before the store publishes
/// anything, so the object is never staged.
struct VerifiedBody: AsyncSequence {
    typealias Element = ByteBufferView
    let base: RequestBody
    /// Hex SHA-256 to match, or nil.
    let sha256: String?
    /// Base64 MD5 to match, or nil.
    let md5: String?

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: RequestBody.AsyncIterator
        let sha256Expected: String?
        let md5Expected: String?
        var sha = SHA256()
        var md5 = Insecure.MD5()

        mutating func next() async throws -> ByteBufferView? {
            guard let buffer = try await base.next() else {
                if let expected = sha256Expected, ContentHash.hex(sha.finalize()) != expected.lowercased() {
                    throw S3Error("XAmzContentSHA256Mismatch", .badRequest, "The provided 'x-amz-content-sha256' header does not match what was computed.")
                }
                if let expected = md5Expected, Data(md5.finalize()).base64EncodedString() != expected {
                    throw S3Error("BadDigest", .badRequest, "The Content-MD5 you specified did not match what we received.")
                }
                return nil
            }
            let view = buffer.readableBytesView
            if sha256Expected != nil { view.withContiguousStorageIfAvailable { sha.update(bufferPointer: UnsafeRawBufferPointer($0)) } }
            if md5Expected != nil { view.withContiguousStorageIfAvailable { md5.update(bufferPointer: UnsafeRawBufferPointer($0)) } }
            return view
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), sha256Expected: sha256, md5Expected: md5)
    }
}
