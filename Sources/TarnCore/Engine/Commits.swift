/// Options of a commit.
public struct CommitOptions: Sendable {
    public var message: String
    public var committer: String
    public var metadata: [String: String]
    /// Overrides the creation date (Unix seconds).
    public var date: Int64?
    public var allowEmpty: Bool

    public init(message: String, committer: String = "", metadata: [String: String] = [:], date: Int64? = nil, allowEmpty: Bool = false) {
        self.message = message
        self.committer = committer
        self.metadata = metadata
        self.date = date
        self.allowEmpty = allowEmpty
    }
}

/// Called with a commit that is about to become a branch's head, while the branch is locked in
/// this process; throwing refuses it. Pre-commit and pre-merge hooks run here, so they see the
/// commit ID that will be created.
public typealias CommitGate = (Commit) throws -> Void

extension VersioningEngine {
    static let maxCommitAttempts = 8

    /// Commits the branch's staged changes. The staging token is sealed first, so writers carry
    /// on under a fresh token for the whole commit; the head then moves by compare-and-swap.
    /// Cost follows the number of changes and the ranges they touch, not the tree size.
    /// `gate` sees the commit before the head moves (pre-commit hooks) and can refuse it by
    /// throwing; the branch then keeps its head and its staged changes.
    @discardableResult
    public func commit(repository: String, branch: String, _ options: CommitOptions, gate: CommitGate? = nil) throws -> Commit {
        let initial = try requireBranch(repository, branch)
        try requireUnprotected(repository, branch, action: "commit to")
        if !options.allowEmpty, try !store.hasStagedChanges(tokens: initial.readTokens) {
            throw EngineError.noChanges
        }
        return try withBranchLock(repository, branch) {
            var state = try store.sealStaging(repository: repository, branch: branch)
            let mine = Set(state.sealedTokens)
            for _ in 0..<Self.maxCommitAttempts {
                let head = try loadCommit(state.headCommitID, repository: repository)
                var changes = StagingIterator(store: store, tokens: state.sealedTokens)
                let tree = try TreeWriter(tree: trees, policy: policy).apply(&changes, to: head.metarangeID)
                if tree == head.metarangeID && !options.allowEmpty { throw EngineError.noChanges }
                let commit = Commit(parents: [head.id], metarangeID: tree, message: options.message,
                                    committer: options.committer, createdAt: options.date ?? clock(),
                                    metadata: options.metadata, generation: head.generation + 1)
                try gate?(commit)
                if try store.completeCommit(repository: repository, expected: state, commit: commit) {
                    commits.insert(commit, for: repository + "/" + commit.id, cost: 1)
                    return commit
                }
                // Lost a race (another process committed, or the branch was reset). Start over
                // from the branch as it is now, unless our tokens are gone: then someone else
                // has already committed or discarded them.
                state = try requireBranch(repository, branch)
                if mine.isDisjoint(with: state.sealedTokens) { throw EngineError.concurrentUpdate(branch: branch) }
            }
            throw EngineError.concurrentUpdate(branch: branch)
        }
    }

    public func getCommit(repository: String, id: String) throws -> Commit {
        _ = try requireRepository(repository)
        return try loadCommit(id, repository: repository)
    }

    /// Commit history from `ref`, newest first (by generation, then date). `firstParent`
    /// follows only first parents. With `objects` / `prefixes`, only commits that changed one
    /// of those paths, or something under one of those prefixes, against their first parent.
    public func log(repository: String, ref: String, after: String = "", amount: Int = 100, firstParent: Bool = false,
                    objects: [String] = [], prefixes: [String] = [], stopAt: String? = nil) throws -> Page<Commit> {
        try Self.checkAmount(amount)
        let start = try resolveCommit(repository: repository, ref: ref)
        let stop = try stopAt.map { try resolveCommit(repository: repository, ref: $0).id }
        var walk = CommitWalk(start: start, firstParent: firstParent)
        var out: [Commit] = []
        var skipping = !after.isEmpty
        let filtered = !objects.isEmpty || !prefixes.isEmpty
        let empty = filtered ? try emptyMetarangeID() : ""
        while out.count <= amount, let c = try walk.next(self, repository: repository) {
            if skipping {
                if c.id == after { skipping = false }
                continue
            }
            if filtered {
                let parentTree = try c.parents.first.map { try loadCommit($0, repository: repository).metarangeID } ?? empty
                guard try touches(c.metarangeID, parentTree, objects: objects, prefixes: prefixes) else {
                    if c.id == stop { break }
                    continue
                }
            }
            out.append(c)
            if c.id == stop { break }
        }
        return .from(out, amount: amount)
    }

    private func touches(_ a: String, _ b: String, objects: [String], prefixes: [String]) throws -> Bool {
        if a == b { return false }
        for path in objects {
            let x = try trees.lookup(path, inMetarange: a)
            let y = try trees.lookup(path, inMetarange: b)
            switch (x, y) {
            case (nil, nil): continue
            case let (x?, y?): if !x.isIdentical(to: y) { return true }
            default: return true
            }
        }
        for prefix in prefixes {
            var diff = try TreeDiffIterator(tree: trees, left: b, right: a, prefix: prefix)
            if try diff.next() != nil { return true }
        }
        return false
    }
}

/// Walks the commit graph newest first: a max-heap on (generation, date, id), each commit once.
struct CommitWalk {
    var heap: [Commit] = []
    var seen: Set<String> = []
    let firstParent: Bool

    init(start: Commit, firstParent: Bool) {
        self.firstParent = firstParent
        push(start)
    }

    static func before(_ a: Commit, _ b: Commit) -> Bool {
        if a.generation != b.generation { return a.generation > b.generation }
        if a.createdAt != b.createdAt { return a.createdAt > b.createdAt }
        return a.id > b.id
    }

    mutating func push(_ c: Commit) {
        guard seen.insert(c.id).inserted else { return }
        heap.append(c)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard Self.before(heap[i], heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Commit? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var best = i
            if l < heap.count, Self.before(heap[l], heap[best]) { best = l }
            if r < heap.count, Self.before(heap[r], heap[best]) { best = r }
            if best == i { break }
            heap.swapAt(i, best)
            i = best
        }
        return top
    }

    mutating func next(_ engine: VersioningEngine, repository: String) throws -> Commit? {
        guard let c = pop() else { return nil }
        for p in firstParent ? Array(c.parents.prefix(1)) : c.parents {
            push(try engine.loadCommit(p, repository: repository))
        }
        return c
    }
}
