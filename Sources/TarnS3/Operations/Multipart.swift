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
        let checksum = try Self.requestedChecksum(r)
        let id = try catalog.createMultipartUpload(repository: bucket, branch: branch, path: path,
                                                   contentType: r.headers["content-type"] ?? "binary/octet-stream",
                                                   metadata: Self.objectMetadata(r.headers),
                                                   checksumAlgorithm: checksum?.algorithm.name, checksumType: checksum?.kind.rawValue)
        var xml = XMLWriter()
        xml.open("InitiateMultipartUploadResult")
        xml.element("Bucket", bucket)
        xml.element("Key", r.key!)
        xml.element("UploadId", id)
        xml.close("InitiateMultipartUploadResult")
        var headers = HTTPFields()
        if let checksum {
            headers[HTTPField.Name("x-amz-checksum-algorithm")!] = checksum.algorithm.name
            headers[HTTPField.Name("x-amz-checksum-type")!] = checksum.kind.rawValue
        }
        return xml.response(headers: headers)
    }

    /// `x-amz-checksum-algorithm` and `x-amz-checksum-type` of a CreateMultipartUpload.
    static func requestedChecksum(_ r: S3Request) throws -> (algorithm: ChecksumAlgorithm, kind: MultipartChecksum.Kind)? {
        let typeName = r.headers["x-amz-checksum-type"]?.uppercased()
        guard let name = r.headers["x-amz-checksum-algorithm"] else {
            if typeName != nil { throw S3Error("InvalidRequest", .badRequest, "x-amz-checksum-type needs x-amz-checksum-algorithm") }
            return nil
        }
        guard let algorithm = ChecksumAlgorithm(rawValue: name.lowercased()) else {
            throw S3Error("InvalidRequest", .badRequest, "Checksum algorithm \(name) is not supported")
        }
        let kind = try typeName.map { t -> MultipartChecksum.Kind in
            guard let k = MultipartChecksum.Kind(rawValue: t) else { throw S3Error("InvalidRequest", .badRequest, "Checksum type \(t) is not supported") }
            return k
        } ?? MultipartChecksum.defaultKind(algorithm)
        guard MultipartChecksum.allows(kind, algorithm) else {
            throw S3Error("InvalidRequest", .badRequest, "The \(kind.rawValue) checksum type cannot be used with the \(algorithm.name) algorithm")
        }
        return (algorithm, kind)
    }

    /// The checksum algorithm an upload was created with.
    static func algorithm(of upload: MultipartUploadRecord) -> ChecksumAlgorithm? {
        upload.checksumAlgorithm.flatMap { ChecksumAlgorithm(rawValue: $0.lowercased()) }
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
        let (id, upload) = try upload(r, bucket)
        let required = Self.algorithm(of: upload)
        if r.headers["x-amz-copy-source"] != nil { return try await uploadPartCopy(r, uploadID: id, number: number, algorithm: required) }
        let body = try verifiedBody(r, principal, required: required)
        let part = try await catalog.uploadPart(uploadID: id, number: number, body: body, size: Self.payloadLength(r)) { required == nil ? nil : body.computed.base64 }
        var headers: HTTPFields = [.eTag: "\"\(part.md5)\"", .contentLength: "0"]
        if let algorithm = body.algorithm, let value = body.computed.base64 { headers[HTTPField.Name(algorithm.header)!] = value }
        return Response(status: .ok, headers: headers)
    }

    /// UploadPartCopy: a part made of another object's bytes, whole or a range of them.
    func uploadPartCopy(_ r: S3Request, uploadID: String, number: Int, algorithm: ChecksumAlgorithm?) async throws -> Response {
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
        let body = ChecksummedBytes(base: try await catalog.open(entry, in: srcBucket, range: range), algorithm: algorithm)
        let part = try await catalog.uploadPart(uploadID: uploadID, number: number, body: body,
                                                size: range.map { $0.upperBound - $0.lowerBound + 1 } ?? entry.size) { body.computed.base64 }
        return XMLWriter.copyResult("CopyPartResult", mtime: part.createdAt, etag: part.md5)
    }

    func completeMultipartUpload(_ r: S3Request, _ bucket: String) async throws -> Response {
        let (id, upload) = try upload(r, bucket)
        if upload.completedETag == nil { try checkWritePreconditions(r, bucket, upload.branch, upload.path) }
        let bytes = Data(try await r.http.body.collect(upTo: 4 << 20).readableBytesView)
        let requested = try CompleteRequestParser.parse(bytes)
        let algorithm = Self.algorithm(of: upload)
        let kind = upload.checksumType.flatMap(MultipartChecksum.Kind.init(rawValue:)) ?? algorithm.map(MultipartChecksum.defaultKind)
        let (etag, checksum) = try await catalog.completeMultipartUpload(uploadID: id, parts: requested.map { ($0.number, $0.etag) }) { chosen in
            try Self.completionExtras(r, chosen: chosen, requested: requested, algorithm: algorithm, kind: kind)
        }
        var xml = XMLWriter()
        xml.open("CompleteMultipartUploadResult")
        xml.element("Location", "/\(bucket)/\(upload.branch)/\(upload.path)")
        xml.element("Bucket", bucket)
        xml.element("Key", r.key!)
        xml.etag(etag)
        if let algorithm, let kind, let checksum {
            xml.element("Checksum" + algorithm.name, checksum)
            xml.element("ChecksumType", kind.rawValue)
        }
        xml.close("CompleteMultipartUploadResult")
        return xml.response()
    }

    /// The completed object's part layout and, for an upload with a checksum algorithm, its
    /// checksum (checked against the parts' checksums and the final one the client lists).
    static func completionExtras(_ r: S3Request, chosen: [MultipartPartRecord], requested: [CompleteRequestParser.Part],
                                 algorithm: ChecksumAlgorithm?, kind: MultipartChecksum.Kind?) throws -> Catalog.CompletionExtras {
        var metadata = [PartLayout.key: PartLayout(chosen.map { PartLayout.Part(size: $0.size, checksum: algorithm == nil ? nil : $0.checksum) }).encoded]
        guard let algorithm, let kind else { return (metadata, nil) }
        let given = Dictionary(requested.map { ($0.number, $0.checksums) }, uniquingKeysWith: { $1 })
        var sums: [(checksum: String, size: Int64)] = []
        for part in chosen {
            guard let stored = part.checksum else { throw S3Error.badDigest("Part \(part.number) has no \(algorithm.name) checksum") }
            if let sent = given[part.number]?[algorithm], sent != stored {
                throw S3Error.badDigest("The \(algorithm.name) checksum of part \(part.number) does not match the uploaded part's")
            }
            sums.append((stored, part.size))
        }
        guard let combined = MultipartChecksum.combine(algorithm, kind, parts: sums) else {
            throw S3Error.badDigest("The parts' \(algorithm.name) checksums cannot be combined")
        }
        if let expected = r.headers[algorithm.header], expected != combined {
            throw S3Error.badDigest("The \(algorithm.header) you specified did not match the calculated checksum")
        }
        metadata[checksumKey + algorithm.rawValue] = combined
        metadata[StoredChecksum.typeKey] = kind.rawValue
        return (metadata, combined)
    }

    func abortMultipartUpload(_ r: S3Request, _ bucket: String) async throws -> Response {
        let (id, _) = try upload(r, bucket)
        try await catalog.abortMultipartUpload(uploadID: id)
        return Response(status: .noContent)
    }

    func listParts(_ r: S3Request, _ bucket: String) throws -> Response {
        let (id, upload) = try upload(r, bucket)
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
        let algorithm = Self.algorithm(of: upload)
        if let algorithm {
            xml.element("ChecksumAlgorithm", algorithm.name)
            xml.element("ChecksumType", upload.checksumType ?? MultipartChecksum.defaultKind(algorithm).rawValue)
        }
        for p in parts {
            xml.raw("<Part>")
            xml.element("PartNumber", p.number)
            xml.element("LastModified", S3Time.iso8601(p.createdAt))
            xml.etag(p.md5)
            xml.element("Size", p.size)
            if let algorithm, let checksum = p.checksum { xml.element("Checksum" + algorithm.name, checksum) }
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


/// `<CompleteMultipartUpload><Part><PartNumber/><ETag/>[<ChecksumCRC32/>…]</Part>…</CompleteMultipartUpload>`.
final class CompleteRequestParser: NSObject, XMLParserDelegate {
    struct Part {
        var number: Int
        var etag: String
        var checksums: [ChecksumAlgorithm: String]
    }

    var parts: [Part] = []
    private var text = ""
    private var number: Int?
    private var etag: String?
    private var checksums: [ChecksumAlgorithm: String] = [:]
    private var sawRoot = false
    private var bad = false

    static func parse(_ data: Data) throws -> [Part] {
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
        if name == "Part" { number = nil; etag = nil; checksums = [:] }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
        switch name {
        case "PartNumber": number = Int(value)
        case "ETag": etag = value
        case "Part":
            if let number, let etag { parts.append(Part(number: number, etag: etag, checksums: checksums)) } else { bad = true }
        default:
            if name.hasPrefix("Checksum"), let algorithm = ChecksumAlgorithm(rawValue: name.dropFirst("Checksum".count).lowercased()) {
                checksums[algorithm] = value
            }
        }
        text = ""
    }
}

/// An object's bytes (an UploadPartCopy's source) with a checksum computed as they pass.
struct ChecksummedBytes<Base: AsyncSequence>: AsyncSequence where Base.Element == [UInt8] {
    typealias Element = [UInt8]
    let base: Base
    let algorithm: ChecksumAlgorithm?
    let computed = ComputedChecksum()

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        var running: RunningChecksum?
        let computed: ComputedChecksum

        mutating func next() async throws -> [UInt8]? {
            guard let chunk = try await base.next() else {
                if let running { computed.set(running.finalBase64()) }
                return nil
            }
            chunk.withUnsafeBytes { running?.update($0) }
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), running: algorithm.map { RunningChecksum($0) }, computed: computed)
    }
}
