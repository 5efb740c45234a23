/// How a path differs between two trees.
public enum ChangeKind: String, Sendable, Hashable {
    case added, removed, changed
}

/// One row of a diff: the path, and the entry on each side (nil where the path is absent).
public struct DiffEntry: Sendable, Hashable {
    public var path: String
    public var kind: ChangeKind
    public var left: Entry?
    public var right: Entry?

    public init(path: String, kind: ChangeKind, left: Entry?, right: Entry?) {
        self.path = path
        self.kind = kind
        self.left = left
        self.right = right
    }
}

/// Streams the differences from `left` to `right` in path order. Ranges with equal IDs on both
/// sides are skipped without being read, so the cost follows the size of the difference, not
/// of the trees.
public struct TreeDiffIterator {
    var left: TreeCursor
    var right: TreeCursor
    let prefix: String

    public init(tree: TreeStore, left: String, right: String, prefix: String = "", from: String? = nil) throws {
        let start = from.map { comparePaths($0, prefix) > 0 ? $0 : prefix } ?? prefix
        self.left = try TreeCursor(tree: tree, metarangeID: left, from: start)
        self.right = try TreeCursor(tree: tree, metarangeID: right, from: start)
        self.prefix = prefix
    }

    public mutating func next() throws -> DiffEntry? {
        while true {
            left.settle()
            right.settle()
            if left.atRangeStart, right.atRangeStart, left.currentRange!.id == right.currentRange!.id {
                if !prefix.isEmpty && !left.currentRange!.firstKey.hasPathPrefix(prefix)
                    && comparePaths(left.currentRange!.firstKey, prefix) > 0 { return nil }
                left.skipRange()
                right.skipRange()
                continue
            }
            var l = try left.peek()
            var r = try right.peek()
            if let item = l, !prefix.isEmpty, !item.hasPrefix(prefix) { l = nil }
            if let item = r, !prefix.isEmpty, !item.hasPrefix(prefix) { r = nil }
            switch (l, r) {
            case (nil, nil):
                return nil
            case let (li?, nil):
                left.advance()
                return DiffEntry(path: li.path, kind: .removed, left: try li.entry(), right: nil)
            case let (nil, ri?):
                right.advance()
                return DiffEntry(path: ri.path, kind: .added, left: nil, right: try ri.entry())
            case let (li?, ri?):
                let order = li.compare(ri)
                if order < 0 {
                    left.advance()
                    return DiffEntry(path: li.path, kind: .removed, left: try li.entry(), right: nil)
                } else if order > 0 {
                    right.advance()
                    return DiffEntry(path: ri.path, kind: .added, left: nil, right: try ri.entry())
                }
                left.advance()
                right.advance()
                if !li.sameValue(ri) {
                    return DiffEntry(path: ri.path, kind: .changed, left: try li.entry(), right: try ri.entry())
                }
            }
        }
    }

    private func inScope(_ path: String) -> Bool { prefix.isEmpty || path.hasPathPrefix(prefix) }
}

/// How a merge settles paths changed differently on both sides.
public enum MergeStrategy: String, Sendable, Hashable {
    /// Report conflicts and refuse the merge.
    case none = "default"
    case destWins = "dest-wins"
    case sourceWins = "source-wins"
}

/// The changes a three-way merge applies to the destination: everything the source changed
/// since the base, minus what the destination changed the same way; paths both sides changed
/// differently are conflicts, settled by the strategy or collected in `conflicts`.
public struct MergeChangeSource: ChangeSource {
    var source: TreeDiffIterator
    var dest: TreeDiffIterator
    let strategy: MergeStrategy
    var nextSource: DiffEntry??
    var nextDest: DiffEntry??
    public private(set) var conflicts: [String] = []
    public private(set) var conflictCount = 0
    static let conflictListLimit = 1000

    public init(tree: TreeStore, base: String, source: String, dest: String, strategy: MergeStrategy) throws {
        self.source = try TreeDiffIterator(tree: tree, left: base, right: source)
        self.dest = try TreeDiffIterator(tree: tree, left: base, right: dest)
        self.strategy = strategy
    }

    public mutating func next() throws -> Change? {
        while true {
            if nextSource == nil { nextSource = .some(try source.next()) }
            guard let s = nextSource! else { return nil }
            if nextDest == nil { nextDest = .some(try dest.next()) }
            if let d = nextDest!, comparePaths(d.path, s.path) < 0 {
                nextDest = nil
                continue
            }
            nextSource = nil
            guard let d = nextDest!, pathsEqual(d.path, s.path) else {
                return Change(path: s.path, entry: s.right)
            }
            nextDest = nil
            let same: Bool
            switch (s.right, d.right) {
            case (nil, nil): same = true
            case let (a?, b?): same = a.isIdentical(to: b)
            default: same = false
            }
            if same { continue }
            switch strategy {
            case .sourceWins: return Change(path: s.path, entry: s.right)
            case .destWins: continue
            case .none:
                conflictCount += 1
                if conflicts.count < Self.conflictListLimit { conflicts.append(s.path) }
            }
        }
    }
}
