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
