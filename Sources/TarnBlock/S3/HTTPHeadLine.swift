import TarnCore

/// The lines of an HTTP/1.1 response head, read on bytes: curl's header callback is given them
/// one at a time for every response, and `CurlDownload` reads a whole head itself.
enum HTTPHeadLine {
    /// The status of a status line (`HTTP/1.1 200 OK`; the reason phrase may be missing): the
    /// digits after its first space. Nil when the line is not a status line.
    static func status(_ line: UnsafeRawBufferPointer) -> Int? {
        guard line.count >= 5, line.starts(with: "HTTP/".utf8) else { return nil }
        var i = (line.firstIndex(of: 0x20) ?? line.count) + 1, status = 0
        while i < line.count, line[i] >= UInt8(ascii: "0"), line[i] <= UInt8(ascii: "9"), status < 1_000 {
            status = status * 10 + Int(line[i] - UInt8(ascii: "0"))
            i += 1
        }
        return status
    }

    /// A field line's name, lower-cased, and its value without the blanks around it; nil when
    /// the line has no colon.
    static func field(_ line: UnsafeRawBufferPointer) -> (name: String, value: String)? {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        let name = String(unsafeUninitializedCapacity: colon) { out in
            for i in 0..<colon { out[i] = line[i] >= 0x41 && line[i] <= 0x5A ? line[i] | 0x20 : line[i] }
            return colon
        }
        var start = colon + 1, end = line.count
        while start < end, isBlank(line[start]) { start += 1 }
        while end > start, isBlank(line[end - 1]) { end -= 1 }
        return (name, String(decoding: line[start..<end], as: UTF8.self))
    }

    /// Whether the line is only blanks: the end of a head (curl hands it over with its CRLF).
    static func isEmpty(_ line: UnsafeRawBufferPointer) -> Bool { line.allSatisfy(isBlank) }

    private static func isBlank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A }
}

/// A whole response head that Tarn read itself (`CurlDownload`, `KeptConnections`): only
/// what decides whether its body is the one a read asked for.
struct ResponseHead {
    let status: Int
    var contentLength: Int64?
    /// Any `Transfer-Encoding`: the body is not framed by its length alone.
    var transferEncoded = false
    /// `Connection: close`: the connection cannot carry another request.
    var closes = false

    /// The head at the start of `bytes` and where the body starts, once the blank line that
    /// ends the head arrived (nil before); `head` is nil when those lines are not a response head.
    static func read(_ bytes: UnsafeRawBufferPointer) -> (head: ResponseHead?, bodyStart: Int)? {
        HTTPHeadEnd.blankLine(in: bytes).map { (ResponseHead(UnsafeRawBufferPointer(rebasing: bytes[..<$0])), $0 + 4) }
    }

    /// The status line and fields before the blank line; nil when they are not a response head.
    init?(_ fields: UnsafeRawBufferPointer) {
        var lineStart = 0
        var status: Int?
        while lineStart < fields.count {
            let lineEnd = fields[lineStart...].firstIndex(of: 10) ?? fields.count
            let line = UnsafeRawBufferPointer(rebasing: fields[lineStart..<lineEnd])
            lineStart = lineEnd + 1
            if status == nil {
                guard let s = HTTPHeadLine.status(line) else { return nil }
                status = s
                continue
            }
            guard let (name, value) = HTTPHeadLine.field(line) else { return nil }
            switch name {
            case "content-length": contentLength = Int64(value)
            case "transfer-encoding": transferEncoded = true
            case "connection": closes = value.lowercased() == "close"
            default: continue
            }
        }
        guard let status else { return nil }
        self.status = status
    }

    /// Whether this is the answer to a read of `length` bytes: 200, or 206 for a range, with a
    /// body framed only by that length.
    func frames(length: Int64, ranged: Bool) -> Bool {
        status == (ranged ? 206 : 200) && contentLength == length && !transferEncoded
    }
}
