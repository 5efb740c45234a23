import Foundation
import HTTPTypes
import Hummingbird
import TarnCore

/// GetObject and HeadObject: any ref reads (branch with its staged changes, tag, commit,
/// `main~1`); Range, conditional headers, `response-*` overrides, `x-amz-meta-*`.
extension S3Gateway {
    func lookup(_ r: S3Request, _ bucket: String) throws -> (ref: String, path: String, entry: Entry, repository: Repository) {
        guard let (ref, path) = r.refAndPath, !path.isEmpty else { throw S3Error.noSuchKey(r.key ?? "") }
        do {
            let (repository, entry) = try catalog.engine.locateObject(repository: bucket, ref: ref, path: path)
            return (ref, path, entry, repository)
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

    func getObject(_ r: S3Request, _ bucket: String, head: Bool) async throws -> Response {
        let (_, _, entry, repository) = try lookup(r, bucket)
        let answer = try objectAnswer(r, entry)
        if head || !answer.hasBody { return Response(status: answer.status, headers: answer.headers) }
        let reader = try await catalog.open(entry, in: repository, range: answer.range)
        if let whole = try await reader.readWhole() {
            return Response(status: answer.status, headers: answer.headers, body: ResponseBody(byteBuffer: whole))
        }
        return Response(status: answer.status, headers: answer.headers, body: ResponseBody(contentLength: Int(reader.length)) { writer in
            try await reader.writeRuns(from: r.eventLoop) { try await writer.write(contentsOf: $0) }
            try await writer.finish(nil)
        })
    }

    /// What a GET or HEAD of an entry answers before its bytes.
    struct ObjectAnswer {
        var status: HTTPResponse.Status
        var headers: HTTPFields
        /// The bytes to send, nil for all of them.
        var range: ClosedRange<Int64>?
        /// False for a 304, which carries no bytes even to a GET.
        var hasBody: Bool
    }

    /// Status and headers of a GET or HEAD of `entry`: conditional headers (a 412 is thrown),
    /// `partNumber`, Range, checksums, `response-*` overrides and user metadata.
    func objectAnswer(_ r: S3Request, _ entry: Entry) throws -> ObjectAnswer {
        let etag = "\"\(entry.checksum)\""
        if let status = try Self.preconditions(r, etag: etag, mtime: entry.mtime) {
            guard status == .notModified else { throw S3Error.preconditionFailed() }
            return ObjectAnswer(status: .notModified, headers: [.eTag: etag, .lastModified: S3Time.httpDate(entry.mtime)], hasBody: false)
        }
        var headers: HTTPFields = [
            .eTag: etag, .lastModified: S3Time.httpDate(entry.mtime), .acceptRanges: "bytes",
            .contentType: entry.contentType,
        ]
        for (k, v) in entry.metadata {
            if k.hasPrefix("::http::") {
                if let name = HTTPField.Name(String(k.dropFirst("::http::".count))) { headers[name] = v }
            } else if !k.hasPrefix("::"), let name = HTTPField.Name("x-amz-meta-" + k) {
                headers[name] = v
            }
        }
        // `partNumber`: one part of a multipart object (a whole single-part object is part 1).
        var partRange: ClosedRange<Int64>?
        var part: PartLayout.Part?
        if let text = r.q("partNumber") {
            guard let number = Int(text), (1...10_000).contains(number) else {
                throw S3Error.invalidArgument("Part number must be an integer between 1 and 10000, inclusive")
            }
            guard r.headers["range"] == nil else { throw S3Error("InvalidRequest", .badRequest, "Cannot specify both Range header and partNumber query parameter") }
            if let layout = PartLayout(entry) {
                guard let range = layout.range(ofPart: number) else { throw S3Error.invalidPartNumber() }
                (partRange, part) = (range, layout.parts[number - 1])
                headers[HTTPField.Name("x-amz-mp-parts-count")!] = String(layout.parts.count)
            } else if number != 1 {
                throw S3Error.invalidPartNumber()
            }
        }
        // Checksums describe what they cover: the whole object's only a whole answer (none with
        // a Range: boto3 asks for them on every GET and would check a part against the whole),
        // a part's its part.
        if r.headers["x-amz-checksum-mode"]?.uppercased() == "ENABLED", let stored = StoredChecksum(entry) {
            let value = partRange == nil ? (r.headers["range"] == nil ? stored.value : nil) : part?.checksum
            if let value, let name = HTTPField.Name(stored.algorithm.header) {
                headers[name] = value
                headers[HTTPField.Name("x-amz-checksum-type")!] = stored.type
            }
        }
        for (param, header) in [("response-content-type", HTTPField.Name.contentType), ("response-content-language", .contentLanguage),
                                ("response-expires", .expires), ("response-cache-control", .cacheControl),
                                ("response-content-disposition", .contentDisposition), ("response-content-encoding", .contentEncoding)] {
            if let v = r.q(param) { headers[header] = v }
        }
        var range = partRange
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
        return ObjectAnswer(status: status, headers: headers, range: range, hasBody: true)
    }

    /// GetObjectAttributes: ETag, Checksum, ObjectParts (of a multipart object, paged with
    /// `x-amz-max-parts` and `x-amz-part-number-marker`), ObjectSize and StorageClass.
    func getObjectAttributes(_ r: S3Request, _ bucket: String) throws -> Response {
        let entry = try lookup(r, bucket).entry
        let wanted = Set((r.headers["x-amz-object-attributes"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        let stored = StoredChecksum(entry)
        var xml = XMLWriter()
        xml.open("GetObjectAttributesResponse")
        if wanted.contains("ETag") { xml.element("ETag", entry.checksum) }
        if wanted.contains("Checksum"), let stored {
            xml.raw("<Checksum>")
            xml.element("Checksum" + stored.algorithm.name, stored.value)
            xml.element("ChecksumType", stored.type)
            xml.raw("</Checksum>")
        }
        if wanted.contains("ObjectParts"), let layout = PartLayout(entry) {
            let maxParts = Swift.min(Int(r.headers["x-amz-max-parts"] ?? "1000") ?? 1000, 1000)
            let marker = Int(r.headers["x-amz-part-number-marker"] ?? "0") ?? 0
            let numbers = marker < layout.parts.count ? Array((Swift.max(marker, 0) + 1)...layout.parts.count) : []
            let page = numbers.prefix(maxParts)
            xml.raw("<ObjectParts>")
            xml.element("PartsCount", layout.parts.count) // botocore reads TotalPartsCount from this element
            xml.element("PartNumberMarker", marker)
            if let last = page.last { xml.element("NextPartNumberMarker", last) }
            xml.element("MaxParts", maxParts)
            xml.element("IsTruncated", numbers.count > page.count)
            for n in page {
                let part = layout.parts[n - 1]
                xml.raw("<Part>")
                xml.element("PartNumber", n)
                xml.element("Size", part.size)
                if let checksum = part.checksum, let stored { xml.element("Checksum" + stored.algorithm.name, checksum) }
                xml.raw("</Part>")
            }
            xml.raw("</ObjectParts>")
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
