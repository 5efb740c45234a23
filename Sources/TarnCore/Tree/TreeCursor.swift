/// Walks one tree's entries in key order, loading a range only when an entry inside it is
/// needed, so that diff and merge can skip ranges that both sides share.
public struct TreeCursor {
    let tree: TreeStore
    let ranges: [RangeInfo]
    var rangeIndex: Int
    var data: RangeData?
    var position = 0

    /// Starts at the first entry whose path is >= `from` (or at the beginning).
    public init(tree: TreeStore, metarangeID: String, from: String? = nil) throws {
        self.tree = tree
        ranges = try tree.metarange(metarangeID)
        rangeIndex = 0
        if let from, !from.isEmpty {
            rangeIndex = Self.firstRange(in: ranges, withLastKeyAtLeast: from)
            if rangeIndex < ranges.count, comparePaths(ranges[rangeIndex].firstKey, from) < 0 {
                let loaded = try tree.rangeData(ranges[rangeIndex])
                data = loaded
                position = loaded.lowerBound(from)
            }
        }
    }

    /// True when the cursor sits at the first entry of an unloaded range: the whole range can
    /// be compared by ID and skipped.
    public var atRangeStart: Bool { data == nil && rangeIndex < ranges.count }

    public var currentRange: RangeInfo? { rangeIndex < ranges.count ? ranges[rangeIndex] : nil }

    /// Leaves a fully consumed range without loading the next one, so that the next range can
    /// still be compared by ID.
    public mutating func settle() {
        if let data, position >= data.count { skipRange() }
    }

    public mutating func skipRange() {
        rangeIndex += 1
        data = nil
        position = 0
    }

    /// The current item, loading its range if needed; nil at the end.
    public mutating func peek() throws -> TreeItem? {
        while rangeIndex < ranges.count {
            if data == nil {
                data = try tree.rangeData(ranges[rangeIndex])
                position = 0
            }
            if position < data!.count { return TreeItem(data: data!, index: position) }
            skipRange()
        }
        return nil
    }

    public mutating func advance() { position += 1 }

    static func firstRange(in ranges: [RangeInfo], withLastKeyAtLeast key: String) -> Int {
        var lo = 0, hi = ranges.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if comparePaths(ranges[mid].lastKey, key) < 0 { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

}
