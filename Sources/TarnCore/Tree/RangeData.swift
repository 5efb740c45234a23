#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A range as stored, indexed for reading without decoding: keys are copied into one buffer
/// (the stored form shares prefixes) and each entry's value is located in the original bytes.
/// Comparing keys and values is `memcmp`; an `Entry` is built only for rows a caller returns.
/// Diff, merge and commit copy unchanged entries as raw bytes, never decoding them.
public final class RangeData: Sendable {
    let blob: [UInt8]
    let keyBytes: [UInt8]
    /// Key i is keyBytes[keyEnds[i-1] ..< keyEnds[i]] (keyEnds[-1] = 0).
    let keyEnds: [Int32]
    /// Value i is blob[valueStarts[i] ..< valueEnds[i]].
    let valueStarts: [Int32]
    let valueEnds: [Int32]

    public var count: Int { keyEnds.count }

    init(blob: [UInt8], expectedCount: Int) throws(EngineError) {
        var keys = [UInt8]()
        keys.reserveCapacity(expectedCount * 48)
        var keyEnds = [Int32](), valueStarts = [Int32](), valueEnds = [Int32]()
        keyEnds.reserveCapacity(expectedCount)
        valueStarts.reserveCapacity(expectedCount)
        valueEnds.reserveCapacity(expectedCount)
        // This runs for every range read cold, so it walks the bytes with a raw cursor: no
        // entry, string or dictionary is built here.
        let ok = blob.withUnsafeBufferPointer { buf -> Bool in
            var r = RawCursor(buf)
            guard r.byte() == TreeCoding.rangeMagic else { return false }
            var key = [UInt8]()
            key.reserveCapacity(256)
            for _ in 0..<expectedCount {
                guard let shared = r.uvarint(), let suffix = r.uvarint(), shared <= key.count,
                      let tail = r.bytes(suffix) else { return false }
                key.removeLast(key.count - shared)
                key.append(contentsOf: tail)
                keys.append(contentsOf: key)
                keyEnds.append(Int32(keys.count))
                valueStarts.append(Int32(r.position))
                // address, size, checksum, content type, mtime, metadata pairs
                guard r.skipString(), r.uvarint() != nil, r.skipString(), r.skipString(), r.uvarint() != nil,
                      let pairs = r.uvarint() else { return false }
                for _ in 0..<pairs { guard r.skipString(), r.skipString() else { return false } }
                valueEnds.append(Int32(r.position))
            }
            return r.uvarint() == expectedCount && r.position == buf.count
        }
        guard ok else { throw .corrupt("bad range encoding") }
        self.blob = blob
        keyBytes = keys
        self.keyEnds = keyEnds
        self.valueStarts = valueStarts
        self.valueEnds = valueEnds
    }

    /// Approximate memory held, for the cache's budget.
    var cost: Int { blob.count + keyBytes.count + keyEnds.count * 12 + 200 }

    func keyStart(_ i: Int) -> Int { i == 0 ? 0 : Int(keyEnds[i - 1]) }

    func withKey<T>(_ i: Int, _ body: (UnsafeBufferPointer<UInt8>) -> T) -> T {
        keyBytes.withUnsafeBufferPointer { buf in
            body(UnsafeBufferPointer(rebasing: buf[keyStart(i)..<Int(keyEnds[i])]))
        }
    }

    func withValue<T>(_ i: Int, _ body: (UnsafeBufferPointer<UInt8>) -> T) -> T {
        blob.withUnsafeBufferPointer { buf in
            body(UnsafeBufferPointer(rebasing: buf[Int(valueStarts[i])..<Int(valueEnds[i])]))
        }
    }

    public func key(_ i: Int) -> String { withKey(i) { String(decoding: $0, as: UTF8.self) } }

    public func entry(_ i: Int) throws -> Entry {
        var r = ByteReader(blob)
        r.offset = Int(valueStarts[i])
        return try EntryCoding.decodeValue(path: key(i), from: &r)
    }

    /// Byte order of key i against `path`.
    public func compareKey(_ i: Int, _ path: String) -> Int {
        var p = path
        return withKey(i) { k in p.withUTF8 { compareBytes(k, $0) } }
    }

    public func compareKey(_ i: Int, _ other: RangeData, _ j: Int) -> Int {
        withKey(i) { a in other.withKey(j) { b in compareBytes(a, b) } }
    }

    public func keyHasPrefix(_ i: Int, _ prefix: String) -> Bool {
        if prefix.isEmpty { return true }
        var p = prefix
        return withKey(i) { k in
            p.withUTF8 { pb in k.count >= pb.count && memcmp(k.baseAddress!, pb.baseAddress!, pb.count) == 0 }
        }
    }

    public func valueEquals(_ i: Int, _ other: RangeData, _ j: Int) -> Bool {
        withValue(i) { a in other.withValue(j) { b in compareBytes(a, b) == 0 } }
    }

    /// Index of the first key >= `path`.
    public func lowerBound(_ path: String) -> Int {
        var lo = 0, hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            if compareKey(mid, path) < 0 { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}

/// Bounds-checked reads over a byte buffer, returning nil past the end.
struct RawCursor {
    let buffer: UnsafeBufferPointer<UInt8>
    var position = 0

    init(_ buffer: UnsafeBufferPointer<UInt8>) { self.buffer = buffer }

    @inline(__always) mutating func byte() -> UInt8? {
        guard position < buffer.count else { return nil }
        defer { position += 1 }
        return buffer[position]
    }

    @inline(__always) mutating func uvarint() -> Int? {
        var result = 0
        var shift = 0
        while position < buffer.count {
            let b = buffer[position]
            position += 1
            result |= Int(b & 0x7f) << shift
            if b < 0x80 { return result }
            shift += 7
            if shift > 56 { return nil }
        }
        return nil
    }

    @inline(__always) mutating func bytes(_ n: Int) -> UnsafeBufferPointer<UInt8>? {
        guard n >= 0, n <= buffer.count - position else { return nil }
        defer { position += n }
        return UnsafeBufferPointer(rebasing: buffer[position..<(position + n)])
    }

    @inline(__always) mutating func skipString() -> Bool {
        guard let n = uvarint(), n <= buffer.count - position else { return false }
        position += n
        return true
    }
}

func compareBytes(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Int {
    let n = min(a.count, b.count)
    if n > 0 {
        let r = memcmp(a.baseAddress!, b.baseAddress!, n)
        if r != 0 { return r < 0 ? -1 : 1 }
    }
    return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
}

/// A position inside a loaded range: one committed entry, not yet decoded.
public struct TreeItem {
    public let data: RangeData
    public let index: Int

    public var path: String { data.key(index) }
    public func entry() throws -> Entry { try data.entry(index) }
    public func compare(_ other: TreeItem) -> Int { data.compareKey(index, other.data, other.index) }
    public func compare(_ path: String) -> Int { data.compareKey(index, path) }
    public func hasPrefix(_ prefix: String) -> Bool { data.keyHasPrefix(index, prefix) }
    public func sameValue(_ other: TreeItem) -> Bool { data.valueEquals(index, other.data, other.index) }
}
