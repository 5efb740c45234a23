import Foundation
import HTTPTypes
import Hummingbird
import TarnCore

/// S3's XML bodies, written directly as bytes (they are flat; a 1,000-key listing is
/// 300 KB, and String appends cost more than building it).
struct XMLWriter {
    var bytes: [UInt8] = Array("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n".utf8)

    mutating func open(_ name: String, namespace: Bool = true) {
        raw(namespace ? "<\(name) xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">" : "<\(name)>")
    }

    mutating func close(_ name: String) {
        bytes += "</".utf8
        bytes += name.utf8
        bytes.append(UInt8(ascii: ">"))
    }

    /// Markup written as it is.
    mutating func raw(_ markup: String) { bytes += markup.utf8 }

    mutating func element(_ name: String, _ value: String) {
        bytes.append(UInt8(ascii: "<"))
        bytes += name.utf8
        bytes.append(UInt8(ascii: ">"))
        Self.appendEscaped(value, to: &bytes)
        close(name)
    }

    mutating func element(_ name: String, _ value: some BinaryInteger) { element(name, String(value)) }

    mutating func element(_ name: String, _ value: Bool) { element(name, value ? "true" : "false") }

    /// `<ETag>"…"</ETag>` (the quotes escaped, as S3 writes them).
    mutating func etag(_ checksum: String) {
        bytes += "<ETag>&quot;".utf8
        Self.appendEscaped(checksum, to: &bytes)
        bytes += "&quot;</ETag>".utf8
    }

    static func escape(_ s: String) -> String {
        var out = [UInt8]()
        appendEscaped(s, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `s` escaped for XML text.
    static func appendEscaped(_ s: String, to out: inout [UInt8]) {
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "&"): out += "&amp;".utf8
            case UInt8(ascii: "<"): out += "&lt;".utf8
            case UInt8(ascii: ">"): out += "&gt;".utf8
            case UInt8(ascii: "\""): out += "&quot;".utf8
            case UInt8(ascii: "'"): out += "&apos;".utf8
            // Control characters are not allowed in XML 1.0 even escaped, but S3 writes them as
            // numeric references and clients read them back.
            case 0..<0x20 where b != UInt8(ascii: "\n") && b != UInt8(ascii: "\t"): out += "&#\(b);".utf8
            default: out.append(b) // bytes of multi-byte characters are all >= 0x80
            }
        }
    }

    /// `<CopyObjectResult>` / `<CopyPartResult>`: when and what was copied.
    static func copyResult(_ name: String, mtime: Int64, etag: String) -> Response {
        var xml = XMLWriter()
        xml.open(name)
        xml.element("LastModified", S3Time.iso8601(mtime))
        xml.etag(etag)
        xml.close(name)
        return xml.response()
    }

    func response(status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/xml"
        headers[.contentLength] = String(bytes.count)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// S3 timestamps: ISO 8601 with milliseconds in listings, RFC 1123 in headers.
enum S3Time {
    static func iso8601(_ seconds: Int64) -> String { HTTPDate.iso8601(seconds) }

    static func httpDate(_ seconds: Int64) -> String { HTTPDate.rfc1123(seconds) }

    /// An HTTP date header (RFC 1123, also RFC 850 and asctime as HTTP allows) in Unix seconds.
    static func parseHTTPDate(_ s: String) -> Int64? {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            f.dateFormat = format
            if let d = f.date(from: s) { return Int64(d.timeIntervalSince1970) }
        }
        return nil
    }
}
