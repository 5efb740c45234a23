/// Where an HTTP/1.1 head ends in bytes read from a socket: the server's own request parser
/// (`HTTP1Wire`) and the block store's own response reads (`CurlDownload`, `KeptConnections`)
/// both look for it on every message they read.
public enum HTTPHeadEnd {
    /// The index of the blank line's CRLF CRLF (the head's fields end there, its body starts
    /// four bytes later), or nil while the head has not all arrived.
    public static func blankLine(in bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= 4 else { return nil }
        var i = 3
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\n") {
                if bytes[i - 1] == UInt8(ascii: "\r"), bytes[i - 2] == UInt8(ascii: "\n"), bytes[i - 3] == UInt8(ascii: "\r") { return i - 3 }
                i += 1
            } else if b == UInt8(ascii: "\r") {
                i += 1
            } else {
                // Neither byte of a CRLF: the blank line cannot end before i + 4.
                i += 4
            }
        }
        return nil
    }
}
