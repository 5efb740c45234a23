extension VersioningEngine {
    /// Creates a repository with its default branch at a first, empty commit "Repository created".
    @discardableResult
    public func createRepository(name: String, storageNamespace: String, defaultBranch: String = "main",
                                 createdAt: Int64? = nil) throws -> Repository {
        try Names.validateRepository(name)
        try Names.validateBranch(defaultBranch)
        // One spelling per location: `local://a/` and `local://a` are the same directory.
        var storageNamespace = storageNamespace
        while storageNamespace.hasSuffix("/") && !storageNamespace.hasSuffix("://") { storageNamespace.removeLast() }
        guard !storageNamespace.isEmpty, !storageNamespace.hasSuffix("://") else {
            throw EngineError.invalidArgument("storage namespace is empty")
        }
        let now = createdAt ?? clock()
        let repo = Repository(name: name, storageNamespace: storageNamespace, defaultBranch: defaultBranch, createdAt: now)
        let initial = Commit(parents: [], metarangeID: try emptyMetarangeID(), message: "Repository created",
                             committer: "", createdAt: now, metadata: [:], generation: 1)
        try store.createRepository(repo, initialCommit: initial)
        return repo
    }

    public func repository(_ name: String) throws -> Repository {
        try requireRepository(name)
    }

    public func listRepositories(prefix: String = "", after: String = "", amount: Int = 100) throws -> Page<Repository> {
        try Self.checkAmount(amount)
        return .from(try store.listRepositories(prefix: prefix, after: after, limit: amount + 1), amount: amount)
    }

    public func deleteRepository(_ name: String) throws {
        _ = try requireRepository(name)
        try store.deleteRepository(name)
        forgetProtection(name)
    }
}
