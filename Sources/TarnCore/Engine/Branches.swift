/// What `resetBranch` discards.
public enum ResetScope: Sendable, Hashable {
    case all
    case object(String)
    case prefix(String)
}

extension VersioningEngine {
    /// Creates a branch at the commit `source` resolves to, in constant time: one row, no copy.
    /// A branch source contributes its committed head; its staging stays where it is.
    @discardableResult
    public func createBranch(repository: String, name: String, from source: String) throws -> Branch {
        try Names.validateBranch(name)
        let commit = try resolveCommit(repository: repository, ref: source)
        return try store.createBranch(repository: repository, name: name, head: commit.id)
    }

    public func branch(repository: String, name: String) throws -> Branch {
        try requireBranch(repository, name)
    }

    public func listBranches(repository: String, prefix: String = "", after: String = "", amount: Int = 100) throws -> Page<Branch> {
        try Self.checkAmount(amount)
        _ = try requireRepository(repository)
        return .from(try store.listBranches(repository: repository, prefix: prefix, after: after, limit: amount + 1), amount: amount)
    }

    public func deleteBranch(repository: String, name: String) throws {
        let repo = try requireRepository(repository)
        guard name != repo.defaultBranch else { throw EngineError.notAllowed("cannot delete the default branch \(name)") }
        _ = try requireBranch(repository, name)
        try requireUnprotected(repository, name, action: "delete")
        try store.deleteBranch(repository: repository, name: name)
    }

    /// Discards uncommitted changes: all of them, one object's, or those under a prefix.
    public func resetBranch(repository: String, branch: String, scope: ResetScope = .all) throws {
        _ = try requireBranch(repository, branch)
        try requireUnprotected(repository, branch, action: "reset")
        switch scope {
        case .all:
            _ = try store.resetBranch(repository: repository, branch: branch, head: nil, expectedHead: nil)
        case let .object(path):
            try store.unstage(repository: repository, branch: branch, path: path, prefix: nil)
        case let .prefix(prefix):
            try store.unstage(repository: repository, branch: branch, path: nil, prefix: prefix)
        }
    }

    /// Moves the branch head to the commit `ref` resolves to and discards its staging.
    @discardableResult
    public func hardReset(repository: String, branch: String, to ref: String) throws -> Branch {
        _ = try requireBranch(repository, branch)
        try requireUnprotected(repository, branch, action: "reset")
        let commit = try resolveCommit(repository: repository, ref: ref)
        return try withBranchLock(repository, branch) {
            _ = try store.resetBranch(repository: repository, branch: branch, head: commit.id, expectedHead: nil)
            return try requireBranch(repository, branch)
        }
    }
}
