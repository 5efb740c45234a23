import Foundation
import HTTPTypes
import Hummingbird
import TarnAuth
import TarnCore

/// PutObject: writes need an existing branch (`<branch>/<path>`); a commit, tag or missing
/// branch is refused. `x-amz-meta-*` become the object's metadata; `If-None-Match: *` and
/// `If-Match` make the write conditional.
extension S3Gateway {
    /// The branch and path a write goes to, after checking the branch exists.
    /// `repositoryExists`: the caller has just read the repository (one SQLite read fewer).
    func writableTarget(_ r: S3Request, _ bucket: String, repositoryExists: Bool = false) throws -> (branch: String, path: String) {
        guard let (branch, path) = r.refAndPath, !path.isEmpty else {
            throw S3Error.invalidArgument("Keys are <branch>/<path>: \(r.key ?? "") names no object")
        }
        if !repositoryExists { _ = try catalog.engine.repository(bucket) }
        do {
            _ = try catalog.engine.branch(repository: bucket, name: branch)
        } catch EngineError.branchNotFound {
            if (try? catalog.engine.resolveCommit(repository: bucket, ref: branch)) != nil {
                throw S3Error("MethodNotAllowed", .methodNotAllowed, "\(branch) is a commit or tag: objects are written to branches")
            }
            throw S3Error("NoSuchBucket", .notFound, "The branch \(branch) does not exist in \(bucket)")
        } catch EngineError.invalidName {
            throw S3Error("NoSuchBucket", .notFound, "\(branch) is not a branch of \(bucket)")
        }
        return (branch, path)
    }

    /// `If-None-Match` (`*` or an ETag) and `If-Match` on a write: checked before the bytes
    /// flow; a writer racing between check and stage can still win.
    func checkWritePreconditions(_ r: S3Request, _ bucket: String, _ branch: String, _ path: String) throws {
        guard r.headers["if-none-match"] != nil || r.headers["if-match"] != nil else { return }
        let current = try? catalog.engine.getObject(repository: bucket, ref: branch, path: path)
        if let ifNoneMatch = r.headers["if-none-match"], let current {
            let etag = "\"\(current.checksum)\""
            if ifNoneMatch == "*" || ifNoneMatch == etag || "\"\(ifNoneMatch)\"" == etag { throw S3Error.preconditionFailed() }
        }
        if let ifMatch = r.headers["if-match"] {
            guard let current else { throw S3Error.noSuchKey(r.key!) }
            let etag = "\"\(current.checksum)\""
            guard ifMatch == "*" || ifMatch == etag || "\"\(ifMatch)\"" == etag else { throw S3Error.preconditionFailed() }
        }
    }

    /// The body's length once decoded, when the request says it: what lets an S3 backing store
    /// stream the body instead of spooling it.
    static func payloadLength(_ r: S3Request) -> Int64? {
        if let decoded = r.headers["x-amz-decoded-content-length"] { return Int64(decoded) }
        if r.headers["x-amz-content-sha256"]?.hasPrefix("STREAMING-") == true { return nil }
        return r.headers["content-length"].flatMap { Int64($0) }
    }

    func putObject(_ r: S3Request, _ bucket: String, _ principal: S3Principal) async throws -> Response {
        // `<branch>/` is the branch's root "directory": file-system layers (pyarrow, s3fs) make
        // a marker object for it; the root always exists, so the marker is accepted and not kept.
        if let (branch, path) = r.refAndPath, path.isEmpty, r.key?.hasSuffix("/") == true {
            _ = try catalog.engine.branch(repository: bucket, name: branch)
            for try await _ in r.http.body {}
            return Response(status: .ok, headers: [.eTag: "\"d41d8cd98f00b204e9800998ecf8427e\"", .contentLength: "0"])
        }
        let (branch, path) = try writableTarget(r, bucket)
        try checkWritePreconditions(r, bucket, branch, path)
        let body = try verifiedBody(r, principal)
        // A checksum the client sent (header or trailer) is verified as the body streams (a
        // mismatch stages nothing), so it is kept and served back with ChecksumMode. It is only
        // known once the body ended: the entry gets it with the rest of its metadata.
        let (entry, _) = try await catalog.upload(repository: bucket, branch: branch, path: path, body: body, size: Self.payloadLength(r),
                                                  contentType: r.headers["content-type"] ?? "binary/octet-stream") {
            var metadata = Self.objectMetadata(r.headers)
            if let algorithm = body.algorithm, let value = body.computed.base64 { metadata[Self.checksumKey + algorithm.rawValue] = value }
            return metadata
        }
        let verified = body.algorithm.flatMap { algorithm in body.computed.base64.map { (algorithm, $0) } }
        return Response(status: .ok, headers: Self.putAnswerHeaders(entry, checksum: verified))
    }

    /// The headers of a stored PutObject's answer: its ETag, and the checksum it was verified
    /// against (as S3 echoes it).
    static func putAnswerHeaders(_ entry: Entry, checksum: (algorithm: ChecksumAlgorithm, value: String)?) -> HTTPFields {
        var headers: HTTPFields = [.eTag: "\"\(entry.checksum)\"", .contentLength: "0"]
        if let checksum, let name = HTTPField.Name(checksum.algorithm.header) { headers[name] = checksum.value }
        return headers
    }

    /// The `x-amz-checksum-*` header a request carries, if any (the first algorithm of
    /// `ChecksumAlgorithm.allCases` when it sends several).
    static func checksumHeader(_ headers: [String: String]) -> (algorithm: ChecksumAlgorithm, value: String)? {
        ChecksumAlgorithm.allCases.lazy.compactMap { a in headers[a.header].map { (a, $0) } }.first
    }

    /// The request body, decoded (aws-chunked) and checked as it streams: the payload hash or
    /// chunk signatures the request's signature covers, Content-MD5, and an `x-amz-checksum-*`
    /// header or trailer.
    /// `required` is the algorithm of the multipart upload a part belongs to: computed even
    /// when the client sends no checksum; a different one is refused.
    func verifiedBody(_ r: S3Request, _ principal: S3Principal, required: ChecksumAlgorithm? = nil) throws -> VerifiedBody {
        let sent = Self.checksumHeader(r.headers)
        let header = sent?.algorithm
        let trailer = r.headers["x-amz-trailer"].flatMap(ChecksumAlgorithm.named)
        let algorithm = header ?? trailer ?? required
        if let required, let algorithm, algorithm != required {
            throw S3Error("InvalidRequest", .badRequest,
                          "Checksum Type mismatch occurred, expected checksum Type: \(required.rawValue), actual checksum Type: \(algorithm.rawValue)")
        }
        let expected = sent?.value
        let md5 = r.headers["content-md5"]
        switch PayloadHash(principal.payloadHash) {
        case .unsigned:
            return VerifiedBody(source: .plain(r.http.body), sha256: nil, md5: md5, algorithm: algorithm, expected: expected)
        case let .sha256(h):
            return VerifiedBody(source: .plain(r.http.body), sha256: h, md5: md5, algorithm: algorithm, expected: expected)
        case let .streaming(signed):
            let trailer = r.headers["x-amz-trailer"]
            if let trailer, ChecksumAlgorithm.named(trailer) == nil {
                throw S3Error.notImplemented("the \(trailer) trailer")
            }
            let chunked = AwsChunkedBody(base: r.http.body, principal: principal, signed: signed,
                                         trailer: trailer, decodedLength: r.headers["x-amz-decoded-content-length"].flatMap { Int64($0) })
            return VerifiedBody(source: .chunked(chunked), sha256: nil, md5: md5, algorithm: algorithm, expected: expected)
        case nil:
            throw S3Error("InvalidArgument", .badRequest, "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a SHA-256 or a STREAMING- marker")
        }
    }

    /// What a request's `x-amz-content-sha256` says its body is.
    enum PayloadHash: Equatable {
        case unsigned
        /// The body's SHA-256, as 64 hex digits.
        case sha256(String)
        /// An aws-chunked body, its chunks signed (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD…`) or not.
        case streaming(signed: Bool)

        /// nil for a value S3 does not know.
        init?(_ value: String) {
            switch value {
            case SigV4.unsignedPayload: self = .unsigned
            case "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER": self = .streaming(signed: true)
            case "STREAMING-UNSIGNED-PAYLOAD-TRAILER": self = .streaming(signed: false)
            default:
                guard value.utf8.count == 64, ContentHash.isHex(value, anyCase: true) else { return nil }
                self = .sha256(value)
            }
        }
    }

    /// Metadata key prefix of a verified `x-amz-checksum-<algorithm>` (kept apart from user keys).
    static let checksumKey = "::s3::checksum-"

    /// HTTP headers S3 keeps with an object and serves back on GET and HEAD.
    static let storedHeaders = ["cache-control", "content-disposition", "content-encoding", "content-language", "expires"]

    /// User metadata plus the stored HTTP headers (under `::http::<name>`, apart from user keys).
    static func objectMetadata(_ headers: [String: String]) -> [String: String] {
        var out = userMetadata(headers)
        for name in storedHeaders {
            guard var value = headers[name] else { continue }
            if name == "content-encoding" {
                // `aws-chunked` describes the request's framing, not the object.
                value = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                    .filter { $0.lowercased() != "aws-chunked" }.joined(separator: ", ")
                if value.isEmpty { continue }
            }
            out["::http::" + name] = value
        }
        return out
    }

    /// `x-amz-meta-<k>` headers as metadata `<k>` (names lower-cased, as S3 stores them); the
    /// same map the REST API shows and serves back as `x-amz-meta-*`.
    static func userMetadata(_ headers: [String: String]) -> [String: String] {
        var out: [String: String] = [:]
        for (name, value) in headers where name.hasPrefix("x-amz-meta-") {
            out[String(name.dropFirst("x-amz-meta-".count))] = value
        }
        return out
    }
}
