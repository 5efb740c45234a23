/// Options of a merge.
public struct MergeOptions: Sendable {
    public var message: String?
    public var committer: String
    public var metadata: [String: String]
    public var strategy: MergeStrategy
    /// One parent (the destination) instead of two.
    public var squash: Bool
    public var allowEmpty: Bool

    public init(message: String? = nil, committer: String = "", metadata: [String: String] = [:],
                strategy: MergeStrategy = .none, squash: Bool = false, allowEmpty: Bool = false) {
        self.message = message
        self.committer = committer
        self.metadata = metadata
        self.strategy = strategy
        self.squash = squash
        self.allowEmpty = allowEmpty
    }
}

extension VersioningEngine {
    /// Three-way merge of `source` into the branch `destination` against their merge base.
    /// The destination must have no uncommitted changes. The merge commit's parents are
    /// `[destination head, source]` (only the destination for a squash merge).
    @discardableResult
    public func merge(repository: String, source: String, into destination: String, _ options: MergeOptions = MergeOptions(),
                      gate: CommitGate? = nil) throws -> Commit {
        let sourceCommit = try resolveCommit(repository: repository, ref: source)
        return try withBranchLock(repository, destination) {
            let dest = try cleanBranch(repository, destination)
            let destCommit = try loadCommit(dest.headCommitID, repository: repository)
            let base = try mergeBase(repository: repository, sourceCommit, destCommit)
            let baseTree = try base?.metarangeID ?? emptyMetarangeID()
            var metadata = options.metadata
            metadata[".lakefs.merge.strategy"] = options.strategy.rawValue
            let commit = try applyThreeWay(
                repository: repository, branch: dest, base: baseTree, source: sourceCommit.metarangeID,
                strategy: options.strategy, allowEmpty: options.allowEmpty,
                parents: options.squash ? [destCommit] : [destCommit, sourceCommit],
                message: options.message ?? "Merge '\(source)' into '\(destination)'",
                committer: options.committer, metadata: metadata, gate: gate)
            return commit
        }
    }

    /// Undoes the changes `ref` made relative to its parent (`parentNumber`, 1-based, required
    /// for merge commits) with a new commit on `branch`.
    @discardableResult
    public func revert(repository: String, branch: String, ref: String, parentNumber: Int = 0,
                       committer: String = "", message: String? = nil, allowEmpty: Bool = false, gate: CommitGate? = nil) throws -> Commit {
        try replay(repository: repository, branch: branch, ref: ref, parentNumber: parentNumber, undo: true, gate: gate) { target in
            (message ?? "Revert \(target.id)", committer, [:], allowEmpty)
        }
    }

    /// Applies the changes `ref` made relative to its parent onto `branch` as a new commit with
    /// the original message and metadata.
    @discardableResult
    public func cherryPick(repository: String, branch: String, ref: String, parentNumber: Int = 0,
                           committer: String = "", gate: CommitGate? = nil) throws -> Commit {
        try replay(repository: repository, branch: branch, ref: ref, parentNumber: parentNumber, undo: false, gate: gate) { picked in
            (picked.message, committer, picked.metadata, false)
        }
    }

    /// Three-way application of one commit's change (parent → commit, or commit → parent to
    /// undo it) onto a clean branch, as a single-parent commit described by `describe`.
    private func replay(repository: String, branch: String, ref: String, parentNumber: Int, undo: Bool, gate: CommitGate?,
                        describe: (Commit) -> (message: String, committer: String, metadata: [String: String], allowEmpty: Bool)) throws -> Commit {
        let target = try resolveCommit(repository: repository, ref: ref)
        let parent = try chosenParent(of: target, parentNumber: parentNumber, repository: repository)
        let (message, committer, metadata, allowEmpty) = describe(target)
        return try withBranchLock(repository, branch) {
            let b = try cleanBranch(repository, branch)
            let head = try loadCommit(b.headCommitID, repository: repository)
            return try applyThreeWay(
                repository: repository, branch: b,
                base: undo ? target.metarangeID : parent.metarangeID,
                source: undo ? parent.metarangeID : target.metarangeID,
                strategy: .none, allowEmpty: allowEmpty, parents: [head],
                message: message, committer: committer, metadata: metadata, gate: gate)
        }
    }

    /// The lowest common ancestor of two commits: walk both histories together, highest
    /// generation first; the first commit reached from both sides is the answer (all its
    /// descendants have higher generations and were seen before it).
    public func mergeBase(repository: String, _ a: Commit, _ b: Commit) throws -> Commit? {
        if a.id == b.id { return a }
        var reached: [String: UInt8] = [a.id: 1, b.id: 2]
        var walk = CommitWalk(start: a, firstParent: false)
        walk.push(b)
        while let c = walk.pop() {
            let flags = reached[c.id] ?? 0
            if flags == 3 { return c }
            for p in c.parents {
                reached[p, default: 0] |= flags
                walk.push(try loadCommit(p, repository: repository))
            }
        }
        return nil
    }

    public func findMergeBase(repository: String, _ left: String, _ right: String) throws -> Commit? {
        try mergeBase(repository: repository, try resolveCommit(repository: repository, ref: left),
                      try resolveCommit(repository: repository, ref: right))
    }

    private func cleanBranch(_ repository: String, _ name: String) throws -> Branch {
        let b = try requireBranch(repository, name)
        if try store.hasStagedChanges(tokens: b.readTokens) { throw EngineError.dirtyBranch(name) }
        return b
    }

    private func chosenParent(of c: Commit, parentNumber: Int, repository: String) throws -> Commit {
        if c.parents.count > 1 && parentNumber == 0 {
            throw EngineError.invalidArgument("commit \(c.id) is a merge commit: a parent number is required")
        }
        let n = max(parentNumber, 1)
        guard n <= c.parents.count else {
            throw EngineError.invalidArgument("commit \(c.id) has no parent number \(n)")
        }
        return try loadCommit(c.parents[n - 1], repository: repository)
    }

    /// Applies base→source onto the branch head's tree and moves the head with a CAS.
    private func applyThreeWay(repository: String, branch: Branch, base: String, source: String,
                               strategy: MergeStrategy, allowEmpty: Bool, parents: [Commit],
                               message: String, committer: String, metadata: [String: String], gate: CommitGate?) throws -> Commit {
        let destTree = parents[0].metarangeID
        var changes = try MergeChangeSource(tree: trees, base: base, source: source, dest: destTree, strategy: strategy)
        let tree = try TreeWriter(tree: trees, policy: policy).apply(&changes, to: destTree)
        if changes.conflictCount > 0 { throw EngineError.conflict(paths: changes.conflicts) }
        if tree == destTree && !allowEmpty { throw EngineError.noChanges }
        let commit = Commit(parents: parents.map(\.id), metarangeID: tree, message: message, committer: committer,
                            createdAt: clock(), metadata: metadata,
                            generation: (parents.map(\.generation).max() ?? 0) + 1)
        try gate?(commit)
        guard try store.completeCommit(repository: repository, expected: branch, commit: commit) else {
            throw EngineError.concurrentUpdate(branch: branch.name)
        }
        commits.insert(commit, for: repository + "/" + commit.id, cost: 1)
        return commit
    }
}
