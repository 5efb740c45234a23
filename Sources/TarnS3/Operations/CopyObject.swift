import Foundation
import HTTPTypes
import Hummingbird
import TarnCore

/// CopyObject: `x-amz-copy-source: [/]<bucket>/<ref>/<path>` (any ref: branch, tag, commit) to
/// a branch. Within one repository the copy shares the bytes; metadata is the source's
/// (`COPY`, default) or the request's (`REPLACE`); `x-amz-copy-source-if-*` are honoured.
extension S3Gateway {
    func copyObject(_ r: S3Request, _ bucket: String) async throws -> Response {
        let (branch, path) = try writableTarget(r, bucket)
        let (srcBucket, srcRef, srcPath) = try Self.copySource(r)
        let current = try lookup(S3Request.forKey(r, key: "\(srcRef)/\(srcPath)"), srcBucket).entry
        let etag = "\"\(current.checksum)\""
        if try Self.copyPreconditions(r, etag: etag, mtime: current.mtime) == false { throw S3Error.preconditionFailed() }

        let replace = (r.headers["x-amz-metadata-directive"] ?? "COPY").uppercased() == "REPLACE"
        if srcBucket == bucket && srcRef == branch && srcPath == path && !replace {
            throw S3Error("InvalidRequest", .badRequest, "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
        }
        let entry = try await catalog.copyObject(
            from: (srcBucket, srcRef, srcPath), to: (bucket, branch, path),
            metadata: replace ? Self.objectMetadata(r.headers) : nil,
            contentType: replace ? (r.headers["content-type"] ?? "binary/octet-stream") : nil)
        return XMLWriter.copyResult("CopyObjectResult", mtime: entry.mtime, etag: entry.checksum)
    }

    /// `x-amz-copy-source: [/]<bucket>/<ref>/<path>[?versionId=null]`, decoded.
    static func copySource(_ r: S3Request) throws -> (bucket: String, ref: String, path: String) {
        // The version separator is a literal `?`; a `?` in the key arrives encoded (%3F).
        var raw = r.headers["x-amz-copy-source"] ?? ""
        if let q = raw.range(of: "?versionId=") {
            guard raw[q.upperBound...] == "null" else { throw S3Error("NoSuchVersion", .notFound, "The specified version does not exist") }
            raw = String(raw[..<q.lowerBound])
        }
        var source = S3Request.percentDecode(raw)
        if source.hasPrefix("/") { source.removeFirst() }
        let parts = source.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty, !parts[2].isEmpty else {
            throw S3Error.invalidArgument("Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
        }
        return (parts[0], parts[1], parts[2])
    }

    /// `x-amz-copy-source-if-*`: false when the copy must not happen (412).
    static func copyPreconditions(_ r: S3Request, etag: String, mtime: Int64) throws -> Bool {
        func matches(_ v: String) -> Bool { v == "*" || v == etag || "\"\(v)\"" == etag }
        if let v = r.headers["x-amz-copy-source-if-match"] {
            if !matches(v) { return false }
        } else if let since = r.headers["x-amz-copy-source-if-unmodified-since"].flatMap(S3Time.parseHTTPDate), mtime > since {
            return false
        }
        if let v = r.headers["x-amz-copy-source-if-none-match"] {
            if matches(v) { return false }
        } else if let since = r.headers["x-amz-copy-source-if-modified-since"].flatMap(S3Time.parseHTTPDate), mtime <= since {
            return false
        }
        return true
    }
}

extension S3Request {
    /// This request, looking at another key (for reading a copy's source).
    static func forKey(_ r: S3Request, key: String) -> S3Request {
        var copy = r
        copy.key = key
        return copy
    }
}
