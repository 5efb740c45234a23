import Foundation
import HTTPTypes
import Hummingbird
import TarnCore

/// GetObject and HeadObject: any ref reads (branch with its staged changes, tag, commit,
/// `main~1`); Range, conditional headers, `response-*` overrides, `x-amz-meta-*`.
extension S3Gateway {
    func lookup(_ r: S3Request, _ bucket: String) throws -> (ref: String, path: String, entry: Entry) {
        guard let (ref, path) = r.refAndPath, !path.isEmpty else { throw S3Error.noSuchKey(r.key ?? "") }
        do {
            return (ref, path, try catalog.engine.getObject(repository: bucket, ref: ref, path: path))
        } catch let e as EngineError {
            switch e {
            case .repositoryNotFound: throw e
            case .branchNotFound, .refNotFound, .commitNotFound, .tagNotFound, .invalidName, .ambiguousRef, .objectNotFound, .notAllowed:
                var err = S3Error.noSuchKey(r.key ?? "")
                err.resource = "/\(bucket)/\(r.key ?? "")"
                throw err
            default: throw e
            }
        }
    }

    func getObject(_ r: S3Request, _ bucket: String, head: Bool) throws -> Response {
        let (_, _, entry) = try lookup(r, bucket)
        let etag = "\"\(entry.checksum)\""
        if let status = try Self.preconditions(r, etag: etag, mtime: entry.mtime) {
            guard status == .notModified else { throw S3Error.preconditionFailed() }
            return Response(status: .notModified, headers: [.eTag: etag, .lastModified: S3Time.httpDate(entry.mtime)])
        }
        var headers: HTTPFields = [
            .eTag: etag, .lastModified: S3Time.httpDate(entry.mtime), .acceptRanges: "bytes",
            .contentType: entry.contentType,
        ]
        // Whole-object checksums only describe whole answers: none with a Range (as S3; boto3
        // asks for them on every GET and would check a part against the whole).
        let checksumMode = r.headers["x-amz-checksum-mode"]?.uppercased() == "ENABLED" && r.headers["range"] == nil
        for (k, v) in entry.metadata {
            if k.hasPrefix(Self.checksumKey) {
                if checksumMode, let name = HTTPField.Name("x-amz-checksum-" + k.dropFirst(Self.checksumKey.count)) { headers[name] = v }
            } else if k.hasPrefix("::http::") {
                if let name = HTTPField.Name(String(k.dropFirst("::http::".count))) { headers[name] = v }
            } else if !k.hasPrefix("::"), let name = HTTPField.Name("x-amz-meta-" + k) {
                headers[name] = v
            }
        }
        for (param, header) in [("response-content-type", HTTPField.Name.contentType), ("response-content-language", .contentLanguage),
                                ("response-expires", .expires), ("response-cache-control", .cacheControl),
                                ("response-content-disposition", .contentDisposition), ("response-content-encoding", .contentEncoding)] {
            if let v = r.q(param) { headers[header] = v }
        }
        var range: ClosedRange<Int64>?
        if let header = r.headers["range"], let parsed = Self.parseRange(header) {
            guard let resolved = Self.resolve(parsed, size: entry.size) else { throw S3Error.invalidRange(size: entry.size) }
            range = resolved
        }
        var status = HTTPResponse.Status.ok
        if let range {
            status = .partialContent
            headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound)/\(entry.size)"
            headers[.contentLength] = String(range.count)
        } else {
            headers[.contentLength] = String(entry.size)
        }
        if head { return Response(status: status, headers: headers) }
        let reader = try catalog.open(entry, in: r.bucket!, range: range)
        if let whole = try reader.readWhole() { return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: whole)) }
        return Response(status: status, headers: headers, body: ResponseBody(asyncSequence: reader.byteBuffers))
    }

    /// GetObjectAttributes: ETag, Checksum, ObjectSize and StorageClass of one object (no
    /// ObjectParts: a composed object does not keep its part boundaries).
    func getObjectAttributes(_ r: S3Request, _ bucket: String) throws -> Response {
        let (_, _, entry) = try lookup(r, bucket)
        let wanted = Set((r.headers["x-amz-object-attributes"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        var xml = XMLWriter()
        xml.open("GetObjectAttributesResponse")
        if wanted.contains("ETag") { xml.element("ETag", entry.checksum) }
        if wanted.contains("Checksum") {
            let sums = entry.metadata.filter { $0.key.hasPrefix(Self.checksumKey) }.sorted { $0.key < $1.key }
            if !sums.isEmpty {
                xml.raw("<Checksum>")
                for (k, v) in sums {
                    let algorithm = k.dropFirst(Self.checksumKey.count)
                    xml.element("Checksum" + algorithm.uppercased(), v)
                }
                xml.raw("</Checksum>")
            }
        }
        if wanted.contains("StorageClass") { xml.element("StorageClass", "STANDARD") }
        if wanted.contains("ObjectSize") { xml.element("ObjectSize", entry.size) }
        xml.close("GetObjectAttributesResponse")
        var response = xml.response()
        response.headers[.lastModified] = S3Time.httpDate(entry.mtime)
        return response
    }

    /// HTTP's conditional request evaluation (RFC 9110 §13.2.2): nil to go on, 304, or a 412
    /// (thrown by the caller).
    static func preconditions(_ r: S3Request, etag: String, mtime: Int64) throws -> HTTPResponse.Status? {
        func matches(_ list: String) -> Bool {
            list.split(separator: ",").contains { tag in
                let t = tag.trimmingCharacters(in: .whitespaces)
                return t == "*" || t == etag || "\"\(t)\"" == etag || t.replacingOccurrences(of: "W/", with: "") == etag
            }
        }
        if let ifMatch = r.headers["if-match"] {
            if !matches(ifMatch) { return .preconditionFailed }
        } else if let since = r.headers["if-unmodified-since"].flatMap(S3Time.parseHTTPDate), mtime > since {
            return .preconditionFailed
        }
        if let ifNoneMatch = r.headers["if-none-match"] {
            if matches(ifNoneMatch) { return .notModified }
        } else if let since = r.headers["if-modified-since"].flatMap(S3Time.parseHTTPDate), mtime <= since {
            return .notModified
        }
        return nil
    }

    enum RangeSpec { case fromTo(Int64, Int64?), suffix(Int64) }

    /// One `bytes=` range; anything S3 would ignore (several ranges, other units, garbage) is nil.
    static func parseRange(_ header: String) -> RangeSpec? {
        guard header.hasPrefix("bytes="), !header.contains(",") else { return nil }
        let spec = header.dropFirst(6).trimmingCharacters(in: .whitespaces)
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        if parts[0].isEmpty {
            guard let n = Int64(parts[1]), n >= 0 else { return nil }
            return .suffix(n)
        }
        guard let a = Int64(parts[0]), a >= 0 else { return nil }
        if parts[1].isEmpty { return .fromTo(a, nil) }
        guard let b = Int64(parts[1]), b >= a else { return nil }
        return .fromTo(a, b)
    }

    /// The bytes a range names in an object of `size`, or nil when none exist (416).
    static func resolve(_ spec: RangeSpec, size: Int64) -> ClosedRange<Int64>? {
        switch spec {
        case let .fromTo(a, b):
            guard a < size else { return nil }
            return a...Swift.min(b ?? size - 1, size - 1)
        case let .suffix(n):
            guard n > 0, size > 0 else { return nil }
            return Swift.max(0, size - n)...(size - 1)
        }
    }
}
