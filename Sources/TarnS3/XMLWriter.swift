import Foundation
import HTTPTypes
import Hummingbird
import TarnCore

/// S3's XML bodies, written directly (they are small and flat).
struct XMLWriter {
    var text = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

    mutating func open(_ name: String, namespace: Bool = true) {
        text += namespace ? "<\(name) xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">" : "<\(name)>"
    }

    mutating func close(_ name: String) { text += "</\(name)>" }

    mutating func element(_ name: String, _ value: String) {
        text += "<\(name)>"
        text += Self.escape(value)
        text += "</\(name)>"
    }

    mutating func element(_ name: String, _ value: some BinaryInteger) { element(name, String(value)) }

    mutating func element(_ name: String, _ value: Bool) { element(name, value ? "true" : "false") }

    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for ch in s.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\r": out += "&#13;"
            default:
                // Control characters are not allowed in XML 1.0 even escaped, but S3 writes them as
                // numeric references and clients read them back.
                if ch.value < 0x20 && ch != "\n" && ch != "\t" { out += "&#\(ch.value);" } else { out.unicodeScalars.append(ch) }
            }
        }
        return out
    }

    /// `<CopyObjectResult>` / `<CopyPartResult>`: when and what was copied.
    static func copyResult(_ name: String, mtime: Int64, etag: String) -> Response {
        var xml = XMLWriter()
        xml.open(name)
        xml.element("LastModified", S3Time.iso8601(mtime))
        xml.element("ETag", "\"\(etag)\"")
        xml.close(name)
        return xml.response()
    }

    func response(status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/xml"
        let bytes = Array(text.utf8)
        headers[.contentLength] = String(bytes.count)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// S3 timestamps: ISO 8601 with milliseconds in listings, RFC 1123 in headers.
enum S3Time {
    static func iso8601(_ seconds: Int64) -> String {
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.000Z", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                      parts.tm_hour, parts.tm_min, parts.tm_sec)
    }

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
