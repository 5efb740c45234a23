/// Reads and writes immutable trees (ranges and metaranges) through a `MetadataStore`, with
/// decoded values cached in memory. Writes are buffered and flushed in batches so a large
/// commit holds the store's write lock only briefly at a time.
public final class TreeStore: Sendable {
    public let store: any MetadataStore
    let ranges: ImmutableCache<RangeData>
    let metaranges: ImmutableCache<[RangeInfo]>

    public init(store: any MetadataStore, cacheBytes: Int = 256 << 20) {
        self.store = store
        ranges = ImmutableCache(capacity: cacheBytes * 7 / 8)
        metaranges = ImmutableCache(capacity: cacheBytes / 8)
    }

    /// Ranges decoded and held in memory (what diff and merge had to read).
    public var cachedRangeCount: Int { ranges.count }

    public func metarange(_ id: String) throws -> [RangeInfo] {
        if let cached = metaranges.value(for: id) { return cached }
        guard let bytes = try store.metarange(id) else { throw EngineError.corrupt("missing metarange \(id)") }
        let decoded = try TreeCoding.decodeMetarange(bytes)
        metaranges.insert(decoded, for: id, cost: bytes.count * 3)
        return decoded
    }

    public func rangeData(_ range: RangeInfo) throws -> RangeData {
        if let cached = ranges.value(for: range.id) { return cached }
        guard let bytes = try store.range(range.id) else { throw EngineError.corrupt("missing range \(range.id)") }
        let data = try RangeData(blob: bytes, expectedCount: range.count)
        ranges.insert(data, for: range.id, cost: data.cost)
        return data
    }

    /// Writes the metarange of `ranges`, with the ranges still pending in `batch`.
    func putMetarange(_ ranges: [RangeInfo], batch: inout RangeBatch) throws -> String {
        let (id, bytes) = TreeCoding.encodeMetarange(ranges)
        try store.putMetarange(id: id, data: bytes, with: batch.pending)
        batch.pending.removeAll()
        metaranges.insert(ranges, for: id, cost: bytes.count * 3)
        return id
    }

    /// Point lookup: binary search in the metarange, then in the range.
    public func lookup(_ path: String, inMetarange id: String) throws -> Entry? {
        let ranges = try metarange(id)
        let idx = TreeCursor.firstRange(in: ranges, withLastKeyAtLeast: path)
        guard idx < ranges.count else { return nil }
        return try entry(path, in: ranges[idx])
    }

    /// The entry at `path` in the range whose last key is the first at least `path`.
    fileprivate func entry(_ path: String, in range: RangeInfo) throws -> Entry? {
        guard comparePaths(range.firstKey, path) <= 0 else { return nil }
        let data = try rangeData(range)
        let pos = data.lowerBound(path)
        guard pos < data.count, data.compareKey(pos, path) == 0 else { return nil }
        return try data.entry(pos)
    }
}

extension TreeStore {
    /// `lookup` for reads that visit many trees once each (lineage impact looks one path up in
    /// hundreds of commits): a metarange not in the cache is scanned for the one range that can
    /// hold `path`, instead of being decoded whole and cached — decoding a 1M-entry tree's
    /// metarange costs far more than the scan, and caching hundreds of them would evict the
    /// trees other reads keep hot. Ranges are still cached: commits share most of them.
    public func lookupOnce(_ path: String, inMetarange id: String) throws -> Entry? {
        if metaranges.value(for: id) != nil { return try lookup(path, inMetarange: id) }
        guard let bytes = try store.metarange(id) else { throw EngineError.corrupt("missing metarange \(id)") }
        guard let range = try TreeCoding.findRange(in: bytes, atLeast: Array(path.utf8)) else { return nil }
        return try entry(path, in: range)
    }
}

/// Collects encoded ranges and writes them to the store in batches of about `batchBytes`.
struct RangeBatch {
    let store: any MetadataStore
    var pending: [(id: String, data: [UInt8])] = []
    var pendingBytes = 0
    let batchBytes = 4 << 20

    init(store: any MetadataStore) { self.store = store }

    mutating func add(id: String, data: [UInt8]) throws {
        pending.append((id, data))
        pendingBytes += data.count
        if pendingBytes >= batchBytes { try flush() }
    }

    mutating func flush() throws {
        guard !pending.isEmpty else { return }
        try store.putRanges(pending)
        pending.removeAll(keepingCapacity: true)
        pendingBytes = 0
    }
}
