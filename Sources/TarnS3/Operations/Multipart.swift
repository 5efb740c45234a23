import Foundation
import HTTPTypes
import Hummingbird
import TarnAuth
import TarnCatalog
import TarnCore
#if canImport(FoundationXML)
import FoundationXML
#endif

/// CreateMultipartUpload, UploadPart, CompleteMultipartUpload, AbortMultipartUpload,
/// ListParts, ListMultipartUploads. Parts stream to the store as they come; completion
/// composes them, so the object appears whole or not at all.
extension S3Gateway {
    func createMultipartUpload(_ r: S3Request, _ bucket: String) throws -> Response {
        let (branch, path) = try writableTarget(r, bucket)
        let id = try catalog.createMultipartUpload(repository: bucket, branch: branch, path: path,
                                                   contentType: r.headers["content-type"] ?? "binary/octet-stream",
                                                   metadata: Self.objectMetadata(r.headers))
        var xml = XMLWriter()
        xml.open("InitiateMultipartUploadResult")
        xml.element("Bucket", bucket)
        xml.element("Key", r.key!)
        xml.element("UploadId", id)
        xml.close("InitiateMultipartUploadResult")
        return xml.response()
    }

    /// The upload a request names, checked against its bucket and key.
    func upload(_ r: S3Request, _ bucket: String) throws -> (id: String, upload: MultipartUploadRecord) {
        let id = r.q("uploadId") ?? ""
        let upload = try catalog.multipartUpload(id)
        guard upload.repository == bucket, "\(upload.branch)/\(upload.path)" == r.key else { throw MultipartError.noSuchUpload(id) }
        return (id, upload)
    }

    func uploadPart(_ r: S3Request, _ bucket: String, _ principal: S3Principal) async throws -> Response {
        guard let number = Int(r.q("partNumber") ?? ""), (1...10_000).contains(number) else {
            throw S3Error.invalidArgument("Part number must be an integer between 1 and 10000, inclusive")
        }
        let (id, _) = try upload(r, bucket)
        if r.headers["x-amz-copy-source"] != nil { return try await uploadPartCopy(r, uploadID: id, number: number) }
        let body = try verifiedBody(r, principal)
        let part = try await catalog.uploadPart(uploadID: id, number: number, body: body)
        return Response(status: .ok, headers: [.eTag: "\"\(part.md5)\"", .contentLength: "0"])
    }

    /// UploadPartCopy: a part made of another object's bytes, whole or a range of them.
    func uploadPartCopy(_ r: S3Request, uploadID: String, number: Int) async throws -> Response {
        let (srcBucket, srcRef, srcPath) = try Self.copySource(r)
        let entry = try lookup(S3Request.forKey(r, key: "\(srcRef)/\(srcPath)"), srcBucket).entry
        if try Self.copyPreconditions(r, etag: "\"\(entry.checksum)\"", mtime: entry.mtime) == false { throw S3Error.preconditionFailed() }
        var range: ClosedRange<Int64>?
        if let header = r.headers["x-amz-copy-source-range"] {
            guard case let .fromTo(a, b?)? = Self.parseRange(header), b < entry.size else {
                throw S3Error("InvalidRange", .rangeNotSatisfiable, "The x-amz-copy-source-range \(header) is not satisfiable (size \(entry.size))")
            }
            range = a...b
        }
        let reader = try catalog.open(entry, in: srcBucket, range: range)
        let part = try await catalog.uploadPart(uploadID: uploadID, number: number, body: reader)
        return XMLWriter.copyResult("CopyPartResult", mtime: part.createdAt, etag: part.md5)
    }

    func completeMultipartUpload(_ r: S3Request, _ bucket: String) async throws -> Response {
        let (id, upload) = try upload(r, bucket)
        if upload.completedETag == nil { try checkWritePreconditions(r, bucket, upload.branch, upload.path) }
        let bytes = Data(try await r.http.body.collect(upTo: 4 << 20).readableBytesView)
        let parts = try CompleteRequestParser.parse(bytes)
        let etag = try await catalog.completeMultipartUpload(uploadID: id, parts: parts)
        var xml = XMLWriter()
        xml.open("CompleteMultipartUploadResult")
        xml.element("Location", "/\(bucket)/\(upload.branch)/\(upload.path)")
        xml.element("Bucket", bucket)
        xml.element("Key", r.key!)
        xml.etag(etag)
        xml.close("CompleteMultipartUploadResult")
        return xml.response()
    }

    func abortMultipartUpload(_ r: S3Request, _ bucket: String) throws -> Response {
        let (id, _) = try upload(r, bucket)
        try catalog.abortMultipartUpload(uploadID: id)
        return Response(status: .noContent)
    }

    func listParts(_ r: S3Request, _ bucket: String) throws -> Response {
        let (id, _) = try upload(r, bucket)
        let maxParts = Swift.min(Int(r.q("max-parts") ?? "1000") ?? 1000, 1000)
        let marker = Int(r.q("part-number-marker") ?? "0") ?? 0
        let fetched = try catalog.multipartParts(uploadID: id, after: marker, limit: maxParts + 1)
        let parts = fetched.prefix(maxParts)
        var xml = XMLWriter()
        xml.open("ListPartsResult")
        xml.element("Bucket", bucket)
        xml.element("Key", r.key!)
        xml.element("UploadId", id)
        xml.element("PartNumberMarker", marker)
        if let last = parts.last { xml.element("NextPartNumberMarker", last.number) }
        xml.element("MaxParts", maxParts)
        xml.element("IsTruncated", fetched.count > maxParts)
        xml.element("StorageClass", "STANDARD")
        for p in parts {
            xml.raw("<Part>")
            xml.element("PartNumber", p.number)
            xml.element("LastModified", S3Time.iso8601(p.createdAt))
            xml.etag(p.md5)
            xml.element("Size", p.size)
            xml.raw("</Part>")
        }
        xml.close("ListPartsResult")
        return xml.response()
    }

    func listMultipartUploads(_ r: S3Request, _ bucket: String) throws -> Response {
        _ = try catalog.engine.repository(bucket)
        let maxUploads = Swift.min(Int(r.q("max-uploads") ?? "1000") ?? 1000, 1000)
        let prefix = r.q("prefix") ?? ""
        let keyMarker = r.q("key-marker") ?? "", idMarker = r.q("upload-id-marker") ?? ""
        var uploads: [MultipartUploadRecord] = []
        var afterKey = keyMarker, afterID = idMarker
        var more = false
        while uploads.count <= maxUploads {
            let batch = try catalog.multipartUploads(repository: bucket, afterKey: afterKey, afterID: afterID, limit: 1000)
            uploads += batch.filter { "\($0.branch)/\($0.path)".hasPrefix(prefix) }
            guard batch.count == 1000, let last = batch.last else { break }
            (afterKey, afterID) = ("\(last.branch)/\(last.path)", last.id)
        }
        if uploads.count > maxUploads { more = true; uploads = Array(uploads.prefix(maxUploads)) }
        var xml = XMLWriter()
        xml.open("ListMultipartUploadsResult")
        xml.element("Bucket", bucket)
        xml.element("KeyMarker", keyMarker)
        xml.element("UploadIdMarker", idMarker)
        if more, let last = uploads.last {
            xml.element("NextKeyMarker", "\(last.branch)/\(last.path)")
            xml.element("NextUploadIdMarker", last.id)
        }
        xml.element("Prefix", prefix)
        xml.element("MaxUploads", maxUploads)
        xml.element("IsTruncated", more)
        for u in uploads {
            xml.raw("<Upload>")
            xml.element("Key", "\(u.branch)/\(u.path)")
            xml.element("UploadId", u.id)
            xml.element("StorageClass", "STANDARD")
            xml.element("Initiated", S3Time.iso8601(u.createdAt))
            xml.raw("</Upload>")
        }
        xml.close("ListMultipartUploadsResult")
        return xml.response()
    }
}


/// `<CompleteMultipartUpload><Part><PartNumber/><ETag/></Part>…</CompleteMultipartUpload>`.
final class CompleteRequestParser: NSObject, XMLParserDelegate {
    var parts: [(number: Int, etag: String)] = []
    private var text = ""
    private var number: Int?
    private var etag: String?
    private var sawRoot = false
    private var bad = false

    static func parse(_ data: Data) throws -> [(number: Int, etag: String)] {
        let delegate = CompleteRequestParser()
        let parser = XMLParser(data: data)
        parser.delegate = delegate
        guard parser.parse(), delegate.sawRoot, !delegate.bad else { throw S3Error.malformedXML() }
        return delegate.parts
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        text = ""
        if name == "CompleteMultipartUpload" { sawRoot = true }
        if name == "Part" { number = nil; etag = nil }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        switch name {
        case "PartNumber": number = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
        case "ETag": etag = text.trimmingCharacters(in: .whitespacesAndNewlines)
        case "Part":
            if let number, let etag { parts.append((number, etag)) } else { bad = true }
        default: break
        }
        text = ""
    }
}
