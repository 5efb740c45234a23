/// A sorted stream of changes (unique paths, ascending byte order).
public protocol ChangeSource {
    mutating func next() throws -> Change?
}

/// Changes held in memory, already sorted (tests, small merges).
public struct ArrayChangeSource: ChangeSource {
    var changes: [Change]
    var index = 0

    public init(sorted changes: [Change]) { self.changes = changes }

    public mutating func next() throws -> Change? {
        guard index < changes.count else { return nil }
        defer { index += 1 }
        return changes[index]
    }
}

/// Applies a sorted change stream to a tree and writes the new tree. Ranges before, between
/// and after the changes are reused by ID; only ranges that contain a change are decoded and
/// re-cut, until the cuts fall back into step with the old ones. Cost is
/// O(changes + touched ranges × range size + number of ranges), never O(tree).
public struct TreeWriter {
    let tree: TreeStore
    let policy: RangePolicy

    public init(tree: TreeStore, policy: RangePolicy = .standard) {
        self.tree = tree
        self.policy = policy
    }

    /// Returns the ID of the new metarange (equal to `base` when the changes change nothing).
    public func apply<S: ChangeSource>(_ changes: inout S, to baseID: String) throws -> String {
        let base = try tree.metarange(baseID)
        var out = [RangeInfo]()
        out.reserveCapacity(base.count + 16)
        var batch = RangeBatch(store: tree.store)
        var encoder = TreeCoding.RangeEncoder()

        func cut() throws {
            let (info, bytes) = encoder.finish()
            try batch.add(id: info.id, data: bytes)
            out.append(info)
        }
        func emit(_ e: Entry) throws {
            if encoder.append(e, policy: policy) { try cut() }
        }
        func emit(_ item: TreeItem) throws {
            if encoder.appendRaw(item, policy: policy) { try cut() }
        }

        var pending = try changes.next()
        var next = 0
        var loaded: RangeData?
        var position = 0
        while true {
            if position >= loaded?.count ?? 0 {
                guard next < base.count else {
                    while let c = pending {
                        if let e = c.entry { try emit(e) }
                        pending = try changes.next()
                    }
                    break
                }
                let range = base[next]
                // Reuse the range whole when we are at a cut (so the old range starts where a new
                // one would), no change falls inside or before it, and it did not end only
                // because the old tree ended.
                if encoder.isEmpty {
                    let untouched = pending.map { comparePaths($0.path, range.lastKey) > 0 } ?? true
                    let closedByRule = next < base.count - 1 || pending == nil
                    if untouched && closedByRule {
                        out.append(range)
                        next += 1
                        continue
                    }
                }
                loaded = try tree.rangeData(range)
                position = 0
                next += 1
                continue
            }
            let item = TreeItem(data: loaded!, index: position)
            if let c = pending {
                let order = -item.compare(c.path)
                if order <= 0 {
                    if let e = c.entry { try emit(e) }
                    pending = try changes.next()
                    if order == 0 { position += 1 }
                    continue
                }
            }
            try emit(item)
            position += 1
        }
        if !encoder.isEmpty { try cut() }
        return try tree.putMetarange(out, batch: &batch)
    }
}
