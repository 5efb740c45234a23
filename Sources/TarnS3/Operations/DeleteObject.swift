import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import TarnAuth
import TarnCore
#if canImport(FoundationXML)
import FoundationXML
#endif

/// DeleteObject and DeleteObjects (quiet too). Deleting a missing key succeeds, as in S3;
/// `versionId=null` (what bucket-cleaning tools send) is accepted.
extension S3Gateway {
    func deleteObject(_ r: S3Request, _ bucket: String) throws -> Response {
        if let version = r.q("versionId"), version != "null" { throw S3Error("NoSuchVersion", .notFound, "The specified version does not exist") }
        let (branch, path) = try writableTarget(r, bucket)
        do {
            try catalog.engine.deleteObject(repository: bucket, branch: branch, path: path)
        } catch EngineError.objectNotFound {}
        return Response(status: .noContent)
    }

    func deleteObjects(_ r: S3Request, _ bucket: String, _ principal: S3Principal) async throws -> Response {
        _ = try catalog.engine.repository(bucket)
        let body = try await r.http.body.collect(upTo: 2 << 20)
        let bytes = Data(body.readableBytesView)
        if let md5 = r.headers["content-md5"], Data(Insecure.MD5.hash(data: bytes)).base64EncodedString() != md5 {
            throw S3Error("BadDigest", .badRequest, "The Content-MD5 you specified did not match what we received.")
        }
        let parsed = try DeleteRequestParser.parse(bytes)
        guard parsed.keys.count <= 1000 else { throw S3Error.malformedXML("at most 1,000 keys per request") }
        var xml = XMLWriter()
        xml.open("DeleteResult")
        for (key, version) in parsed.keys {
            let (branch, path) = S3Request.split(key)
            do {
                if let version, version != "null" { throw S3Error("NoSuchVersion", .notFound, "The specified version does not exist") }
                guard !path.isEmpty else { throw S3Error.invalidArgument("\(key) names no object") }
                do {
                    try catalog.engine.deleteObject(repository: bucket, branch: branch, path: path)
                } catch EngineError.objectNotFound {}
                if !parsed.quiet {
                    xml.raw("<Deleted>")
                    xml.element("Key", key)
                    if let version { xml.element("VersionId", version) }
                    xml.raw("</Deleted>")
                }
            } catch {
                let e = S3Error.from(error)
                xml.raw("<Error>")
                xml.element("Key", key)
                xml.element("Code", e.code)
                xml.element("Message", e.message)
                xml.raw("</Error>")
            }
        }
        xml.close("DeleteResult")
        return xml.response()
    }
}

/// `<Delete><Quiet/><Object><Key/><VersionId/></Object>…</Delete>`.
final class DeleteRequestParser: NSObject, XMLParserDelegate {
    var keys: [(String, String?)] = []
    var quiet = false
    private var text = ""
    private var key: String?
    private var version: String?
    private var sawDelete = false

    static func parse(_ data: Data) throws -> (keys: [(String, String?)], quiet: Bool) {
        let delegate = DeleteRequestParser()
        let parser = XMLParser(data: data)
        parser.delegate = delegate
        guard parser.parse(), delegate.sawDelete else { throw S3Error.malformedXML() }
        return (delegate.keys, delegate.quiet)
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        text = ""
        if name == "Delete" { sawDelete = true }
        if name == "Object" { key = nil; version = nil }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        switch name {
        case "Key": key = text
        case "VersionId": version = text
        case "Quiet": quiet = text.trimmingCharacters(in: .whitespaces).lowercased() == "true"
        case "Object": if let key { keys.append((key, version)) }
        default: break
        }
        text = ""
    }
}
