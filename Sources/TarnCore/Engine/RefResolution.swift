/// What a ref expression names: a commit, and, for a bare branch name, the branch whose
/// staging area overlays that commit's tree on reads.
public struct ResolvedRef: Sendable {
    public var commit: Commit
    /// Set only for a bare branch name (`main`, not `main@` or `main~1`).
    public var branch: Branch?
}

extension VersioningEngine {
    /// Resolves a ref expression. The base name is tried, as lakeFS does, as a full 64-hex
    /// commit ID, then a branch, then a tag, then a unique commit-ID prefix.
    public func resolve(repository: String, ref: String) throws -> ResolvedRef {
        let expr = try RefExpression(parsing: ref)
        var resolved = try resolveBase(repository: repository, expr: expr, text: ref)
        for step in expr.steps {
            switch step {
            case let .ancestor(n):
                for _ in 0..<n {
                    guard let p = resolved.commit.parents.first else { throw EngineError.refNotFound(ref) }
                    resolved.commit = try loadCommit(p, repository: repository)
                }
            case let .parent(n):
                if n == 0 { continue }
                guard n <= resolved.commit.parents.count else { throw EngineError.refNotFound(ref) }
                resolved.commit = try loadCommit(resolved.commit.parents[n - 1], repository: repository)
            }
            resolved.branch = nil
        }
        return resolved
    }

    /// Resolves to a commit, ignoring any staging.
    public func resolveCommit(repository: String, ref: String) throws -> Commit {
        try resolve(repository: repository, ref: ref).commit
    }

    private func resolveBase(repository: String, expr: RefExpression, text: String) throws -> ResolvedRef {
        let name = expr.base
        let isHex = ContentHash.isHex(name)
        if isHex, name.utf8.count == 64, let c = try? loadCommit(name, repository: repository) {
            guard !expr.committedOnly else { throw EngineError.invalidArgument("'@' applies to branches only: \(text)") }
            return ResolvedRef(commit: c, branch: nil)
        }
        if let branch = try store.branch(repository: repository, name: name) {
            let head = try loadCommit(branch.headCommitID, repository: repository)
            return ResolvedRef(commit: head, branch: expr.isBare ? branch : nil)
        }
        guard !expr.committedOnly else {
            _ = try requireRepository(repository)
            throw EngineError.branchNotFound(name)
        }
        if let tag = try store.tag(repository: repository, name: name) {
            return ResolvedRef(commit: try loadCommit(tag.commitID, repository: repository), branch: nil)
        }
        if isHex {
            let ids = try store.commitIDs(prefix: name, repository: repository, limit: 2)
            if ids.count > 1 { throw EngineError.ambiguousRef(text) }
            if let id = ids.first { return ResolvedRef(commit: try loadCommit(id, repository: repository), branch: nil) }
        }
        _ = try requireRepository(repository)
        throw EngineError.refNotFound(text)
    }
}
