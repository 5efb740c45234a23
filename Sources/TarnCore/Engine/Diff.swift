/// One row of a diff page: a changed object, or (with a delimiter) a common prefix under which
/// something changed.
public struct DiffRow: Sendable, Hashable {
    public var path: String
    public var kind: ChangeKind
    public var isCommonPrefix: Bool
    public var left: Entry?
    public var right: Entry?
}

/// Which changes a ref-to-ref diff shows.
public enum DiffMode: Sendable {
    /// Everything that differs between the two commits.
    case twoDot
    /// What `right` changed since its merge base with `left` (what a merge would bring).
    case threeDot
}

extension VersioningEngine {
    /// Differences from `left` to `right` (both resolved to commits).
    public func diff(repository: String, left: String, right: String, mode: DiffMode = .twoDot,
                     prefix: String = "", delimiter: String = "", after: String = "", amount: Int = 1000) throws -> Page<DiffRow> {
        try Self.checkAmount(amount)
        let l = try resolveCommit(repository: repository, ref: left)
        let r = try resolveCommit(repository: repository, ref: right)
        var leftTree = l.metarangeID
        if mode == .threeDot {
            leftTree = try mergeBase(repository: repository, l, r).map { $0.metarangeID } ?? emptyMetarangeID()
        }
        var it = try TreeDiffIterator(tree: trees, left: leftTree, right: r.metarangeID, prefix: prefix,
                                      from: after.isEmpty ? nil : after)
        return try page(prefix: prefix, delimiter: delimiter, after: after, amount: amount) { try it.next() }
    }

    /// The branch's uncommitted changes against its head commit.
    public func diffUncommitted(repository: String, branch: String, prefix: String = "", delimiter: String = "",
                                after: String = "", amount: Int = 1000) throws -> Page<DiffRow> {
        try Self.checkAmount(amount)
        let b = try requireBranch(repository, branch)
        let head = try loadCommit(b.headCommitID, repository: repository)
        var staged = StagingIterator(store: store, tokens: b.readTokens, prefix: prefix, from: after.isEmpty ? nil : after)
        return try page(prefix: prefix, delimiter: delimiter, after: after, amount: amount) {
            while let change = try staged.next() {
                let old = try trees.lookup(change.path, inMetarange: head.metarangeID)
                switch (old, change.entry) {
                case (nil, nil): continue
                case let (nil, new?): return DiffEntry(path: change.path, kind: .added, left: nil, right: new)
                case let (old?, nil): return DiffEntry(path: change.path, kind: .removed, left: old, right: nil)
                case let (old?, new?):
                    if old.isIdentical(to: new) { continue }
                    return DiffEntry(path: change.path, kind: .changed, left: old, right: new)
                }
            }
            return nil
        }
    }

    private func page(prefix: String, delimiter: String, after: String, amount: Int,
                      next: () throws -> DiffEntry?) throws -> Page<DiffRow> {
        var grouper = DelimiterGrouper(prefix: prefix, delimiter: delimiter, after: after)
        var rows: [DiffRow] = []
        while rows.count <= amount, let d = try next() {
            guard let key = grouper.rowKey(for: d.path) else { continue }
            if key.isPrefix {
                rows.append(DiffRow(path: key.path, kind: .changed, isCommonPrefix: true, left: nil, right: nil))
            } else {
                rows.append(DiffRow(path: d.path, kind: d.kind, isCommonPrefix: false, left: d.left, right: d.right))
            }
        }
        return .from(rows, amount: amount)
    }
}
