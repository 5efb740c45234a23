/// Zero-copy import: entries that point at objects Tarn did not write (their addresses are
/// absolute, `s3://bucket/key`) are gathered under a detached staging token, page by page as
/// a listing arrives, and then committed onto a branch in one commit. What was under each
/// replaced prefix and is not among the imported entries is deleted in that same commit, as a
/// lakeFS import does. The branch's own staged changes are neither committed nor touched: they
/// stay staged over the new head.
///
/// The engine knows nothing about listing; TarnCatalog drives it.
public struct ImportStaging: Sendable, Hashable {
    /// The detached staging token the imported entries are written under.
    public let token: Int64
}

extension VersioningEngine {
    /// A fresh, empty place to gather imported entries.
    public func beginImport() throws -> ImportStaging {
        ImportStaging(token: try store.createDetachedStagingToken())
    }

    /// Adds entries to an import (one atomic write; a later entry at the same path replaces an
    /// earlier one).
    public func stageImported(_ entries: [Entry], in staging: ImportStaging) throws {
        for e in entries where e.path.isEmpty { throw EngineError.invalidArgument("empty path") }
        try store.stage(token: staging.token, changes: entries.map(Change.put))
    }

    /// Forgets an import that will not be committed (cancelled, or failed).
    public func discardImport(_ staging: ImportStaging) throws {
        try store.dropStagingTokens([staging.token])
    }

    /// Commits the gathered entries onto `branch`, deleting what else lies under the
    /// `replacing` prefixes ("" replaces everything). The head moves by compare-and-swap;
    /// a commit that lands meanwhile is built upon, never lost. The staging is dropped once the
    /// commit is in. An import that changes nothing still makes its commit, so that it can be
    /// reported like every other.
    public func commitImport(_ staging: ImportStaging, repository: String, branch: String, replacing prefixes: [String],
                             _ options: CommitOptions) throws -> Commit {
        _ = try requireBranch(repository, branch)
        try requireUnprotected(repository, branch, action: "import to")
        return try withBranchLock(repository, branch) {
            for _ in 0..<Self.maxCommitAttempts {
                let state = try requireBranch(repository, branch)
                let head = try loadCommit(state.headCommitID, repository: repository)
                var changes = ImportChanges(imported: StagingIterator(store: store, tokens: [staging.token]),
                                            replaced: try ReplacedPaths(tree: trees, metarangeID: head.metarangeID, prefixes: prefixes))
                let tree = try TreeWriter(tree: trees, policy: policy).apply(&changes, to: head.metarangeID)
                let commit = Commit(parents: [head.id], metarangeID: tree, message: options.message,
                                    committer: options.committer, createdAt: options.date ?? clock(),
                                    metadata: options.metadata, generation: head.generation + 1)
                // No sealed tokens are claimed: those of a commit in progress stay with it, and
                // that commit, finding the head moved, rebuilds on this one.
                let expected = Branch(name: state.name, headCommitID: state.headCommitID, stagingToken: state.stagingToken)
                if try store.completeCommit(repository: repository, expected: expected, commit: commit) {
                    commits.insert(commit, for: repository + "/" + commit.id, cost: 1)
                    try? store.dropStagingTokens([staging.token])
                    return commit
                }
            }
            throw EngineError.concurrentUpdate(branch: branch)
        }
    }
}

/// The imported puts, merged in path order with deletes for the tree's other paths under the
/// replaced prefixes.
struct ImportChanges: ChangeSource {
    var imported: StagingIterator
    var replaced: ReplacedPaths
    private var nextImported: Change??
    private var nextReplaced: String??

    init(imported: StagingIterator, replaced: ReplacedPaths) {
        self.imported = imported
        self.replaced = replaced
    }

    mutating func next() throws -> Change? {
        if nextImported == nil { nextImported = .some(try imported.next()) }
        if nextReplaced == nil { nextReplaced = .some(try replaced.next()) }
        switch (nextImported!, nextReplaced!) {
        case (nil, nil):
            return nil
        case let (i?, r?) where comparePaths(r, i.path) < 0:
            nextReplaced = nil
            return .delete(r)
        case let (nil, r?):
            nextReplaced = nil
            return .delete(r)
        case let (i?, r):
            if let r, pathsEqual(r, i.path) { nextReplaced = nil }
            nextImported = nil
            return i
        }
    }
}

/// The paths of a tree under any of several prefixes, in path order.
struct ReplacedPaths {
    let tree: TreeStore
    let metarangeID: String
    /// Sorted, none inside another.
    private var prefixes: [String]
    private var cursor: TreeCursor?

    init(tree: TreeStore, metarangeID: String, prefixes: [String]) throws {
        self.tree = tree
        self.metarangeID = metarangeID
        var kept: [String] = []
        for p in prefixes.sorted(by: pathPrecedes) where !(kept.last.map { p.hasPathPrefix($0) } ?? false) {
            kept.append(p)
        }
        self.prefixes = kept
    }

    mutating func next() throws -> String? {
        while let prefix = prefixes.first {
            if cursor == nil { cursor = try TreeCursor(tree: tree, metarangeID: metarangeID, from: prefix) }
            if let item = try cursor!.peek(), item.hasPrefix(prefix) {
                cursor!.advance()
                return item.path
            }
            cursor = nil
            prefixes.removeFirst()
        }
        return nil
    }
}
