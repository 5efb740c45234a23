/// Where a tree is cut into ranges. The decision after each entry depends only on the entries
/// since the previous cut (their count, their encoded size, and the hash of the current key),
/// so a tree's ranges are a pure function of its contents: the same contents give the same
/// range IDs whichever branch or commit produced them, and a rewrite that starts at an old cut
/// falls back into step with the old cuts soon after the last change.
public struct RangePolicy: Sendable {
    /// Never cut before this many entries.
    public var minEntries: Int
    /// Cut after an entry whose key hash has these low bits all zero (2^bits ≈ mean run length).
    public var hashBits: Int
    /// Always cut at this many entries or this many encoded bytes.
    public var maxEntries: Int
    public var maxBytes: Int

    /// About 560 entries per range: 1M entries make ~1,800 ranges (a ~90 KB metarange), and
    /// ten scattered changes rewrite ~10k entries (lakeFS's 50k-entry ranges would rewrite
    /// 500k). Halving the range from ~1,100 entries took the 10-change commit on a 1M tree
    /// from 10 to 6 ms. Changing these numbers changes the shape of every new tree (old trees
    /// stay valid, but stop sharing ranges with new ones).
    public static let standard = RangePolicy(minEntries: 64, hashBits: 9, maxEntries: 2048, maxBytes: 1 << 20)

    public init(minEntries: Int, hashBits: Int, maxEntries: Int, maxBytes: Int) {
        self.minEntries = minEntries
        self.hashBits = hashBits
        self.maxEntries = maxEntries
        self.maxBytes = maxBytes
    }


    public func shouldCut(count: Int, bytes: Int, key: UnsafeBufferPointer<UInt8>) -> Bool {
        if count >= maxEntries || bytes >= maxBytes { return true }
        if count < minEntries { return false }
        let mask: UInt64 = (1 << UInt64(hashBits)) - 1
        return ContentHash.keyHash(key) & mask == 0
    }
}

/// Summary of one range inside a metarange.
public struct RangeInfo: Sendable, Hashable {
    public var id: String
    public var firstKey: String
    public var lastKey: String
    public var count: Int
    public var bytes: Int

    public init(id: String, firstKey: String, lastKey: String, count: Int, bytes: Int) {
        self.id = id
        self.firstKey = firstKey
        self.lastKey = lastKey
        self.count = count
        self.bytes = bytes
    }
}

/// Encoded range (sorted entries, keys prefix-compressed) and metarange (sorted range infos).
public enum TreeCoding {
    static let rangeMagic: UInt8 = 0x52 // "R", version 1
    static let metarangeMagic: UInt8 = 0x4D // "M", version 1

    /// Incremental range encoder: entries are appended in key order, either built (`append`)
    /// or copied as stored bytes from another range (`appendRaw`).
    public struct RangeEncoder {
        var writer = ByteWriter(capacity: 64 * 1024)
        var previousKey: [UInt8] = []
        var firstKey: [UInt8] = []
        public private(set) var count = 0

        public init() { writer.byte(TreeCoding.rangeMagic) }

        public var byteCount: Int { writer.bytes.count }
        public var isEmpty: Bool { count == 0 }

        private mutating func appendKey(_ k: UnsafeBufferPointer<UInt8>) {
            var shared = 0
            let limit = min(k.count, previousKey.count)
            while shared < limit && k[shared] == previousKey[shared] { shared += 1 }
            writer.uvarint(UInt64(shared))
            writer.uvarint(UInt64(k.count - shared))
            writer.raw(UnsafeBufferPointer(rebasing: k[shared...]))
            previousKey.removeAll(keepingCapacity: true)
            previousKey.append(contentsOf: k)
            if count == 0 { firstKey = previousKey }
            count += 1
        }

        /// Appends a built entry; true when the policy says to cut after it.
        public mutating func append(_ e: Entry, policy: RangePolicy) -> Bool {
            var key = e.path
            return key.withUTF8 { k in
                appendKey(k)
                EntryCoding.encodeValue(e, into: &writer)
                return policy.shouldCut(count: count, bytes: byteCount, key: k)
            }
        }

        /// Appends a stored entry by copying its bytes; true when the policy says to cut.
        public mutating func appendRaw(_ item: TreeItem, policy: RangePolicy) -> Bool {
            item.data.withKey(item.index) { k in
                appendKey(k)
                item.data.withValue(item.index) { writer.raw($0) }
                return policy.shouldCut(count: count, bytes: byteCount, key: k)
            }
        }

        /// The encoded bytes and their summary. The count is stored at the end so that the
        /// encoder never has to go back.
        public mutating func finish() -> (info: RangeInfo, bytes: [UInt8]) {
            writer.uvarint(UInt64(count))
            let bytes = writer.bytes
            let info = RangeInfo(id: ContentHash.sha256Hex(bytes), firstKey: String(decoding: firstKey, as: UTF8.self),
                                 lastKey: String(decoding: previousKey, as: UTF8.self), count: count, bytes: bytes.count)
            writer = ByteWriter(capacity: bytes.count + 4096)
            writer.byte(TreeCoding.rangeMagic)
            previousKey.removeAll(keepingCapacity: true)
            count = 0
            return (info, bytes)
        }
    }

    /// Metarange layout: per range the 32-byte ID, then the last key prefix-compressed against
    /// the previous range's last key, the first key prefix-compressed against this range's last
    /// key, the count and the size. About a third of the plain form, and it is rewritten by
    /// every commit.
    public static func encodeMetarange(_ ranges: [RangeInfo]) -> (id: String, bytes: [UInt8]) {
        var w = ByteWriter(capacity: 16 + ranges.count * 64)
        w.byte(metarangeMagic)
        w.uvarint(UInt64(ranges.count))
        var previous: [UInt8] = []
        for r in ranges {
            w.raw(hexBytes(r.id))
            let last = Array(r.lastKey.utf8)
            writeShared(&w, last, against: previous)
            writeShared(&w, Array(r.firstKey.utf8), against: last)
            w.uvarint(UInt64(r.count))
            w.uvarint(UInt64(r.bytes))
            previous = last
        }
        return (ContentHash.sha256Hex(w.bytes), w.bytes)
    }

    public static func decodeMetarange(_ bytes: [UInt8]) throws(EngineError) -> [RangeInfo] {
        var r = ByteReader(bytes)
        guard try r.byte() == metarangeMagic else { throw .corrupt("not a metarange") }
        let n = try r.uvarint()
        var out = [RangeInfo]()
        out.reserveCapacity(Int(min(n, 1 << 20)))
        var previous: [UInt8] = []
        for _ in 0..<n {
            let id = ContentHash.hex(try r.rawBytes(32))
            let last = try readShared(&r, against: previous)
            let first = try readShared(&r, against: last)
            let count = Int(try r.uvarint())
            let size = Int(try r.uvarint())
            out.append(RangeInfo(id: id, firstKey: String(decoding: first, as: UTF8.self),
                                 lastKey: String(decoding: last, as: UTF8.self), count: count, bytes: size))
            previous = last
        }
        guard r.isAtEnd else { throw .corrupt("trailing bytes in metarange") }
        return out
    }

    /// The first range of an encoded metarange whose last key is at least `key`, decoded alone:
    /// the scan keeps one key buffer and builds no string or ID for the ranges it passes.
    /// Nil when every range ends before `key`. For point reads in trees that are read once.
    public static func findRange(in bytes: [UInt8], atLeast key: [UInt8]) throws(EngineError) -> RangeInfo? {
        var r = ByteReader(bytes)
        guard try r.byte() == metarangeMagic else { throw .corrupt("not a metarange") }
        let n = try r.uvarint()
        var last: [UInt8] = []
        for _ in 0..<n {
            let id = try r.rawBytes(32)
            let shared = Int(try r.uvarint())
            let suffix = try r.length()
            guard shared <= last.count else { throw .corrupt("bad key prefix") }
            last.removeSubrange(shared...)
            try r.append(count: suffix, into: &last)
            let firstShared = Int(try r.uvarint())
            let firstSuffix = try r.rawBytes(try r.length())
            let count = Int(try r.uvarint())
            let size = Int(try r.uvarint())
            if compareBytes(last, key) >= 0 {
                guard firstShared <= last.count else { throw .corrupt("bad key prefix") }
                let first = Array(last[..<firstShared]) + firstSuffix
                return RangeInfo(id: ContentHash.hex(id), firstKey: String(decoding: first, as: UTF8.self),
                                 lastKey: String(decoding: last, as: UTF8.self), count: count, bytes: size)
            }
        }
        guard r.isAtEnd else { throw .corrupt("trailing bytes in metarange") }
        return nil
    }

    /// Byte-wise order, as `comparePaths` orders the strings.
    static func compareBytes(_ a: [UInt8], _ b: [UInt8]) -> Int {
        let n = min(a.count, b.count)
        var i = 0
        while i < n {
            if a[i] != b[i] { return a[i] < b[i] ? -1 : 1 }
            i += 1
        }
        return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
    }

    private static func writeShared(_ w: inout ByteWriter, _ key: [UInt8], against base: [UInt8]) {
        var shared = 0
        let limit = min(key.count, base.count)
        while shared < limit && key[shared] == base[shared] { shared += 1 }
        w.uvarint(UInt64(shared))
        w.uvarint(UInt64(key.count - shared))
        w.raw(key[shared...])
    }

    private static func readShared(_ r: inout ByteReader, against base: [UInt8]) throws(EngineError) -> [UInt8] {
        let shared = Int(try r.uvarint())
        let suffix = try r.length()
        guard shared <= base.count else { throw .corrupt("bad key prefix") }
        var key = Array(base[..<shared])
        try r.append(count: suffix, into: &key)
        return key
    }

    /// 64 hex digits to 32 bytes (IDs are always our own SHA-256 hex).
    static func hexBytes(_ hex: String) -> [UInt8] { ContentHash.bytes(hex: hex) }

    /// The metarange of the empty tree, which every new repository's first commit points at.
    public static let emptyMetarange = encodeMetarange([])
}
