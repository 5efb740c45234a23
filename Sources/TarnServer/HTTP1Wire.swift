import HTTPTypes
import NIOCore
import TarnCore

/// HTTP/1.1 on the wire for the requests `RawReadHandler` answers itself: the head of a
/// bodiless GET or HEAD read straight from the connection's bytes, and a response head
/// written straight into a buffer. Deliberately narrow: anything this parser is not sure of
/// (another method or version, a body, an absolute or query target, folded or non-ASCII
/// headers, a second Host) is `.unsupported`, and NIO's HTTP decoder, which knows all of
/// HTTP/1, reads the request instead.
enum HTTP1Wire {
    enum Parsed {
        /// The head has not all arrived.
        case incomplete
        /// Not one of the plain requests read here.
        case unsupported
        /// The request, as `HTTP1ToHTTPServerCodec` would have made it, and the bytes it took.
        case head(HTTPRequest, length: Int)
    }

    /// Longest head read here; a longer one goes to NIO's decoder, which has its own limits.
    static let maxHeadLength = 16 * 1024

    static func parseRequestHead(_ buffer: ByteBuffer) -> Parsed {
        buffer.withUnsafeReadableBytes { parse(UnsafeRawBufferPointer($0)) }
    }

    private static func parse(_ bytes: UnsafeRawBufferPointer) -> Parsed {
        guard let end = headEnd(bytes) else {
            // A GET or HEAD that might yet complete waits for more bytes; anything else goes on now.
            let prefix = bytes.prefix(5)
            let couldBe = "GET /".utf8.starts(with: prefix) || "HEAD ".utf8.starts(with: prefix)
            return couldBe && bytes.count <= maxHeadLength ? .incomplete : .unsupported
        }
        // Request line: METHOD SP origin-form target SP HTTP/1.1 CRLF.
        var i = 0
        let method: HTTPRequest.Method
        if bytes.starts(with: "GET ".utf8) {
            method = .get; i = 4
        } else if bytes.starts(with: "HEAD ".utf8) {
            method = .head; i = 5
        } else {
            return .unsupported
        }
        let targetStart = i
        while i < end, bytes[i] != UInt8(ascii: " ") {
            // Visible ASCII only, and no query: a query names another operation or response overrides.
            guard bytes[i] > 0x20, bytes[i] < 0x7F, bytes[i] != UInt8(ascii: "?") else { return .unsupported }
            i += 1
        }
        guard i > targetStart, bytes[targetStart] == UInt8(ascii: "/") else { return .unsupported }
        let target = String(decoding: bytes[targetStart..<i], as: UTF8.self)
        guard UnsafeRawBufferPointer(rebasing: bytes[i...]).starts(with: " HTTP/1.1\r\n".utf8) else { return .unsupported }
        i += 11

        var fields = HTTPFields()
        fields.reserveCapacity(12)
        var authority: String?
        while i < end {
            // name ":" OWS value OWS CRLF; a line that starts with white space folds, and is refused.
            let nameStart = i
            while i < end, isTokenByte(bytes[i]) { i += 1 }
            guard i > nameStart, i < end, bytes[i] == UInt8(ascii: ":") else { return .unsupported }
            let nameEnd = i
            i += 1
            while i < end, bytes[i] == UInt8(ascii: " ") || bytes[i] == UInt8(ascii: "\t") { i += 1 }
            let valueStart = i
            while i < end, bytes[i] != UInt8(ascii: "\r") {
                let b = bytes[i]
                guard (b >= 0x20 && b < 0x7F) || b == UInt8(ascii: "\t") else { return .unsupported }
                i += 1
            }
            guard i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "\n") else { return .unsupported }
            var valueEnd = i
            while valueEnd > valueStart, bytes[valueEnd - 1] == UInt8(ascii: " ") || bytes[valueEnd - 1] == UInt8(ascii: "\t") { valueEnd -= 1 }
            i += 2
            let name = String(decoding: bytes[nameStart..<nameEnd], as: UTF8.self)
            let value = String(decoding: bytes[valueStart..<valueEnd], as: UTF8.self)
            guard let fieldName = HTTPField.Name(name) else { return .unsupported }
            if fieldName.canonicalName == "host" {
                // The first Host is the authority, as the codec makes it; a second is refused.
                guard authority == nil else { return .unsupported }
                authority = value
                continue
            }
            switch fieldName {
            case .transferEncoding, .cookie:
                // A body to frame; cookies, which the codec would split into fields of their own.
                return .unsupported
            case .contentLength:
                guard value == "0" else { return .unsupported }
            default:
                break
            }
            fields.append(HTTPField(name: fieldName, value: value))
        }
        let request = HTTPRequest(method: method, scheme: "http", authority: authority, path: target, headerFields: fields)
        return .head(request, length: end + 2)
    }

    /// The index of the CRLF that ends the head (the second of the blank line's pair), or nil.
    private static func headEnd(_ bytes: UnsafeRawBufferPointer) -> Int? {
        HTTPHeadEnd.blankLine(in: bytes).map { $0 + 2 }
    }

    /// RFC 9110 tchar.
    private static func isTokenByte(_ b: UInt8) -> Bool { tokenBytes[Int(b)] }

    private static let tokenBytes: [Bool] = (0...255).map { b in
        switch UInt8(b) {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(UInt8(b))
        }
    }

    /// Writes `response`'s status line and fields as NIO's `HTTPResponseEncoder` frames them:
    /// a status that has no body loses `Content-Length` and `Transfer-Encoding`. Returns false,
    /// writing nothing, for a response that would need chunked framing (one with a body and
    /// no `Content-Length`), which is left to the encoder.
    /// `extra` fields follow the response's own, as if appended to them.
    static func writeResponseHead(_ response: HTTPResponse, extra: [HTTPField] = [], into buffer: inout ByteBuffer) -> Bool {
        let mayHaveBody = !(100..<200).contains(response.status.code) && response.status.code != 204 && response.status.code != 304
        // `contains`, not the subscript: that joins the values into a new String.
        if mayHaveBody && !response.headerFields.contains(.contentLength) { return false }
        buffer.writeStaticString("HTTP/1.1 ")
        buffer.writeString(String(response.status.code))
        buffer.writeStaticString(" ")
        buffer.writeString(response.status.reasonPhrase)
        buffer.writeStaticString("\r\n")
        for field in response.headerFields {
            if !mayHaveBody && (field.name == .contentLength || field.name == .transferEncoding) { continue }
            write(field, into: &buffer)
        }
        for field in extra { write(field, into: &buffer) }
        buffer.writeStaticString("\r\n")
        return true
    }

    private static func write(_ field: HTTPField, into buffer: inout ByteBuffer) {
        buffer.writeString(field.name.rawName)
        buffer.writeStaticString(": ")
        // The stored bytes: `value` would make a String of them first.
        field.withUnsafeBytesOfValue { buffer.writeBytes($0) }
        buffer.writeStaticString("\r\n")
    }
}
