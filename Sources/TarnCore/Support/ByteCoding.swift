/// Append-only byte buffer with the varint and length-prefixed string encodings used by every
/// canonical format in Tarn (ranges, metaranges, commits, staged entries).
public struct ByteWriter {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }


    public mutating func uvarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    public mutating func varint(_ value: Int64) {
        uvarint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    public mutating func byte(_ b: UInt8) { bytes.append(b) }

    public mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { buf in
            uvarint(UInt64(buf.count))
            bytes.append(contentsOf: buf)
        }
    }

    public mutating func raw<C: Collection>(_ b: C) where C.Element == UInt8 { bytes.append(contentsOf: b) }

    /// String map with keys sorted byte-wise, so equal maps encode to equal bytes.
    public mutating func stringMap(_ map: [String: String]) {
        uvarint(UInt64(map.count))
        if map.isEmpty { return }
        for key in map.keys.sorted(by: pathPrecedes) {
            string(key)
            string(map[key]!)
        }
    }
}

/// Reader over bytes produced by `ByteWriter`; every read checks bounds and throws on corruption.
public struct ByteReader {
    let bytes: [UInt8]
    var offset: Int

    /// Skips a length-prefixed string.
    public mutating func skipString() throws(EngineError) {
        offset += try length()
    }

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        offset = 0
    }

    public var isAtEnd: Bool { offset >= bytes.count }


    public mutating func uvarint() throws(EngineError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while offset < bytes.count {
            let b = bytes[offset]
            offset += 1
            result |= UInt64(b & 0x7f) << shift
            if b < 0x80 { return result }
            shift += 7
            if shift > 63 { break }
        }
        throw .corrupt("bad varint")
    }

    public mutating func varint() throws(EngineError) -> Int64 {
        let u = try uvarint()
        return Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }

    public mutating func byte() throws(EngineError) -> UInt8 {
        guard offset < bytes.count else { throw .corrupt("truncated") }
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func length() throws(EngineError) -> Int {
        let n = try uvarint()
        guard n <= UInt64(bytes.count - offset) else { throw .corrupt("length past end") }
        return Int(n)
    }

    public mutating func string() throws(EngineError) -> String {
        let n = try length()
        defer { offset += n }
        return bytes.withUnsafeBufferPointer { buf in
            String(decoding: UnsafeBufferPointer(rebasing: buf[offset..<(offset + n)]), as: UTF8.self)
        }
    }

    /// Appends `n` raw bytes to `into` (used by prefix-compressed keys).
    public mutating func append(count n: Int, into: inout [UInt8]) throws(EngineError) {
        guard n <= bytes.count - offset else { throw .corrupt("truncated") }
        into.append(contentsOf: bytes[offset..<(offset + n)])
        offset += n
    }

    public mutating func rawBytes(_ n: Int) throws(EngineError) -> ArraySlice<UInt8> {
        guard n <= bytes.count - offset else { throw .corrupt("truncated") }
        defer { offset += n }
        return bytes[offset..<(offset + n)]
    }

    public mutating func stringMap() throws(EngineError) -> [String: String] {
        let n = try uvarint()
        guard n > 0 else { return [:] }
        var map = [String: String](minimumCapacity: Int(min(n, 1024)))
        for _ in 0..<n {
            let k = try string()
            map[k] = try string()
        }
        return map
    }
}
