import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TarnBlock
import TarnCatalog
import TarnCore

/// PutObject of small bodies, answered from the event loop that read them (the twin of
/// `answerImmediately`): at the request's head the signature, branch and preconditions are
/// checked; once its body is in, it is verified and written to a pack file, and the entry is
/// staged when the pack's group flush has made it durable. No task, router or body stream is
/// involved: a 4 KiB PUT spent most of its server time in them and in the thread switches
/// between them.
///
/// Taken only where nothing can differ from `putObject`: a `Content-Length` body of at most
/// 64 KiB with a SHA-256 or `UNSIGNED-PAYLOAD` signature (no aws-chunked framing, no trailer),
/// a local namespace whose store packs small objects, no query, no copy source. Anything else,
/// and any failure (a refused signature, a digest mismatch, a failed write or staging), takes
/// the usual path, which answers the error as before.
extension S3Gateway {
    /// A PutObject accepted at its head, waiting for its body of `length` bytes.
    public struct ImmediatePut: Sendable {
        let repository: Repository
        let branch: String
        let path: String
        let contentType: String
        let metadata: [String: String]
        /// Hex SHA-256 the signature covers, or nil for `UNSIGNED-PAYLOAD`.
        let sha256: String?
        /// Base64 `Content-MD5`, or nil.
        let md5: String?
        /// The `x-amz-checksum-*` header sent, as (algorithm, base64 value).
        let checksum: (algorithm: ChecksumAlgorithm, value: String)?
        let catalog: Catalog
        /// The body's length, from `Content-Length`.
        public let length: Int

        /// Verifies `body` against the request and writes it; `durable` is called on another
        /// thread once it is on disk. False when the body fails a check or the write fails at
        /// once: `durable` is then never called, and the request should take the usual path.
        public func store(_ body: ByteBuffer, durable: @escaping @Sendable (Result<StoredObject, BlockStoreError>) -> Void) -> Bool {
            guard body.readableBytes == length else { return false }
            return body.withUnsafeReadableBytes { bytes in
                if let sha256, ContentHash.hex(SHA256.hash(data: bytes)) != sha256.lowercased() { return false }
                if let md5, Data(Insecure.MD5.hash(data: bytes)).base64EncodedString() != md5 { return false }
                if let checksum {
                    var running = RunningChecksum(checksum.algorithm)
                    running.update(bytes)
                    guard running.finalBase64() == checksum.value else { return false }
                }
                do {
                    try catalog.uploadNow(bytes, in: repository, durable: durable)
                    return true
                } catch {
                    return false
                }
            }
        }

        /// Stages what `store` stored: the response's head, or nil when staging failed (the
        /// bytes are then discarded, and the request should take the usual path).
        public func stage(_ stored: StoredObject) -> HTTPResponse? {
            var metadata = metadata
            if let checksum { metadata[S3Gateway.checksumKey + checksum.algorithm.rawValue] = checksum.value }
            do {
                let entry = try catalog.stageUploaded(stored, repository: repository, branch: branch, path: path,
                                                           contentType: contentType, metadata: metadata)
                return HTTPResponse(status: .ok, headerFields: S3Gateway.putAnswerHeaders(entry, checksum: checksum))
            } catch {
                let catalog = catalog, repository = repository
                Task { await catalog.discard(stored, in: repository) }
                return nil
            }
        }
    }

    /// The small PutObject `head` starts, checked up to its body; nil when the request should
    /// take the usual path.
    public func acceptImmediately(_ head: HTTPRequest) -> ImmediatePut? {
        guard head.method == .put, let target = head.path, !target.utf8.contains(UInt8(ascii: "?")) else { return nil }
        let fields = head.headerFields
        guard Self.plainConnection(fields), fields[.transferEncoding] == nil, fields[.authorization] != nil,
              fields[.expect].map({ $0.lowercased() == "100-continue" }) ?? true,
              let length = fields[.contentLength].flatMap({ Int($0) }) else { return nil }
        let request = Request(head: head, body: RequestBody(buffer: ByteBuffer()))
        guard claims(request) else { return nil }
        let r = S3Request(request, domain: domain)
        guard let bucket = r.bucket, r.key != nil, r.headers["x-amz-copy-source"] == nil, r.headers["x-amz-trailer"] == nil else {
            return nil
        }
        do {
            let repository = try catalog.engine.repository(bucket)
            guard catalog.uploadsNow(length: length, in: repository) else { return nil }
            let sha256: String?
            switch PayloadHash(try authenticate(r).payloadHash) {
            case .unsigned: sha256 = nil
            case let .sha256(h): sha256 = h
            case .streaming, nil: return nil
            }
            let (branch, path) = try writableTarget(r, bucket, repositoryExists: true)
            try checkWritePreconditions(r, bucket, branch, path)
            let checksum = Self.checksumHeader(r.headers)
            return ImmediatePut(repository: repository, branch: branch, path: path,
                                contentType: r.headers["content-type"] ?? "binary/octet-stream", metadata: Self.objectMetadata(r.headers),
                                sha256: sha256, md5: r.headers["content-md5"], checksum: checksum, catalog: catalog,
                                length: length)
        } catch {
            return nil
        }
    }
}
