#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Finds elements in a small, flat XML document by byte search (no nesting of the same name).
enum XMLScan {
    /// The first `<name>…</name>` starting in `from..<to`: its inner byte range and the index
    /// just past its closing tag.
    static func element(_ name: String, in bytes: [UInt8], from: Int, to: Int) -> (inner: Range<Int>, end: Int)? {
        let open = Array("<\(name)>".utf8), close = Array("</\(name)>".utf8)
        guard let a = find(open, in: bytes, from..<to), let b = find(close, in: bytes, (a + open.count)..<to) else { return nil }
        return ((a + open.count)..<b, b + close.count)
    }

    /// The unescaped text of the first `<name>` element inside `range`.
    static func text(_ name: String, in bytes: [UInt8], _ range: Range<Int>) -> String? {
        guard let e = element(name, in: bytes, from: range.lowerBound, to: range.upperBound) else { return nil }
        let inner = bytes[e.inner]
        return inner.contains(UInt8(ascii: "&")) ? XMLText.unescape(inner) : String(decoding: inner, as: UTF8.self)
    }

    static func find(_ needle: [UInt8], in bytes: [UInt8], _ range: Range<Int>) -> Int? {
        guard range.count >= needle.count, !needle.isEmpty else { return nil }
        return bytes.withUnsafeBytes { hay in
            needle.withUnsafeBytes { n in
                let base = hay.baseAddress!, last = range.upperBound - needle.count
                var i = range.lowerBound
                // memchr to each candidate first byte, memcmp for the rest (Glibc's Swift
                // module leaves memmem out).
                while i <= last {
                    guard let hit = memchr(base + i, Int32(needle[0]), last - i + 1) else { return nil }
                    let at = base.distance(to: UnsafeRawPointer(hit))
                    if memcmp(hit, n.baseAddress!, needle.count) == 0 { return at }
                    i = at + 1
                }
                return nil
            }
        }
    }
}

/// XML character data back to text: the five entities and numeric references, on bytes (a
/// listing page has one escaped ETag per object).
enum XMLText {
    static func unescape(_ s: Substring) -> String {
        unescape(Array(s.utf8)[...])
    }

    static func unescape(_ b: ArraySlice<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var i = b.startIndex
        while i < b.endIndex {
            if b[i] == UInt8(ascii: "&"), let semi = b[i...].prefix(12).firstIndex(of: UInt8(ascii: ";")),
               let replacement = entity(b[(i + 1)..<semi]) {
                out += replacement
                i = semi + 1
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func entity(_ name: ArraySlice<UInt8>) -> [UInt8]? {
        switch String(decoding: name, as: UTF8.self) {
        case "amp": return [UInt8(ascii: "&")]
        case "lt": return [UInt8(ascii: "<")]
        case "gt": return [UInt8(ascii: ">")]
        case "quot": return [UInt8(ascii: "\"")]
        case "apos": return [UInt8(ascii: "'")]
        case let n where n.hasPrefix("#x"):
            return UInt32(n.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init).map { Array(String($0).utf8) }
        case let n where n.hasPrefix("#"):
            return UInt32(n.dropFirst()).flatMap(Unicode.Scalar.init).map { Array(String($0).utf8) }
        default: return nil
        }
    }
}
