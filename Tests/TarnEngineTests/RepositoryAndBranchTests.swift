import Testing
import TarnCore
import TarnMetadata

@Suite struct RepositoryTests {
    @Test func createdRepositoryHasDefaultBranchAtInitialCommit() throws {
        let lake = try Lake()
        let repo = try lake.repo("my-repo")
        #expect(repo.defaultBranch == "main")
        let main = try lake.engine.branch(repository: "my-repo", name: "main")
        let first = try lake.engine.getCommit(repository: "my-repo", id: main.headCommitID)
        #expect(first.message == "Repository created")
        #expect(first.parents.isEmpty)
        #expect(first.id.utf8.count == 64 && ContentHash.isHex(first.id))
    }

    @Test(arguments: ["ab", "-abc", "Abc", "a_b", String(repeating: "a", count: 64), ""])
    func badRepositoryNamesAreRejected(name: String) throws {
        let lake = try Lake()
        #expect(throws: EngineError.invalidName(kind: "repository", name: name)) {
            try lake.engine.createRepository(name: name, storageNamespace: "local://x")
        }
    }

    @Test func duplicateNameAndSharedNamespaceAreRefused() throws {
        let lake = try Lake()
        try lake.repo("one")
        #expect(throws: EngineError.alreadyExists(kind: "repository", name: "one")) {
            try lake.engine.createRepository(name: "one", storageNamespace: "local://other")
        }
        #expect(throws: EngineError.namespaceInUse("local://one")) {
            try lake.engine.createRepository(name: "two", storageNamespace: "local://one")
        }
        // Another spelling of the same place, or a place inside or around it, is in use too.
        #expect(throws: EngineError.namespaceInUse("local://one")) {
            try lake.engine.createRepository(name: "two", storageNamespace: "local://one//")
        }
        #expect(throws: EngineError.namespaceInUse("local://one/inner")) {
            try lake.engine.createRepository(name: "two", storageNamespace: "local://one/inner")
        }
        try lake.engine.createRepository(name: "deep", storageNamespace: "local://x/y")
        #expect(throws: EngineError.namespaceInUse("local://x")) {
            try lake.engine.createRepository(name: "two", storageNamespace: "local://x")
        }
        // A sibling whose name merely starts the same is fine.
        #expect(try lake.engine.createRepository(name: "two", storageNamespace: "local://one-more").storageNamespace == "local://one-more")
        #expect(throws: EngineError.self) { try lake.engine.createRepository(name: "three", storageNamespace: "local://") }
    }

    @Test func listingIsPaginatedInNameOrder() throws {
        let lake = try Lake()
        for name in ["ccc", "aaa", "bbb", "ddd"] { try lake.repo(name) }
        let first = try lake.engine.listRepositories(amount: 3)
        #expect(first.items.map(\.name) == ["aaa", "bbb", "ccc"])
        #expect(first.hasMore)
        let second = try lake.engine.listRepositories(after: "ccc", amount: 3)
        #expect(second.items.map(\.name) == ["ddd"])
        #expect(!second.hasMore)
    }

    @Test func deletedRepositoryIsGone() throws {
        let lake = try Lake()
        try lake.repo("gone")
        try lake.engine.deleteRepository("gone")
        #expect(throws: EngineError.repositoryNotFound("gone")) { try lake.engine.repository("gone") }
        // The namespace is free again.
        try lake.engine.createRepository(name: "again", storageNamespace: "local://gone")
    }
}

@Suite struct BranchTests {
    @Test func branchStartsAtSourceHeadAndSharesNoStaging() throws {
        let lake = try Lake()
        try lake.repo()
        let e = lake.engine
        try e.put("repo", "main", "a")
        let c = try e.commit("repo", "main")
        try e.put("repo", "main", "staged-only")
        let dev = try e.createBranch(repository: "repo", name: "dev", from: "main")
        #expect(dev.headCommitID == c.id)
        #expect(try e.contents("repo", "dev") == ["a": "v1"])
    }

    @Test func existingBranchAndBadNamesAreRefused() throws {
        let lake = try Lake()
        try lake.repo()
        #expect(throws: EngineError.alreadyExists(kind: "branch", name: "main")) {
            try lake.engine.createBranch(repository: "repo", name: "main", from: "main")
        }
        for bad in ["-x", "a b", "a/b", "x@", ""] {
            #expect(throws: EngineError.invalidName(kind: "branch", name: bad)) {
                try lake.engine.createBranch(repository: "repo", name: bad, from: "main")
            }
        }
        #expect(throws: EngineError.refNotFound("nope")) {
            try lake.engine.createBranch(repository: "repo", name: "x", from: "nope")
        }
        #expect(throws: EngineError.repositoryNotFound("none")) {
            try lake.engine.createBranch(repository: "none", name: "x", from: "main")
        }
    }

    @Test func listingFiltersByPrefixAndPaginates() throws {
        let lake = try Lake()
        try lake.repo()
        for name in ["feat-b", "feat-a", "fix-1", "feat-c"] {
            try lake.engine.createBranch(repository: "repo", name: name, from: "main")
        }
        let page = try lake.engine.listBranches(repository: "repo", prefix: "feat-", amount: 2)
        #expect(page.items.map(\.name) == ["feat-a", "feat-b"])
        #expect(page.hasMore)
        let rest = try lake.engine.listBranches(repository: "repo", prefix: "feat-", after: "feat-b", amount: 2)
        #expect(rest.items.map(\.name) == ["feat-c"])
        #expect(!rest.hasMore)
    }

    @Test func defaultBranchCannotBeDeleted() throws {
        let lake = try Lake()
        try lake.repo()
        #expect(throws: EngineError.notAllowed("cannot delete the default branch main")) {
            try lake.engine.deleteBranch(repository: "repo", name: "main")
        }
        try lake.engine.createBranch(repository: "repo", name: "tmp", from: "main")
        try lake.engine.deleteBranch(repository: "repo", name: "tmp")
        #expect(throws: EngineError.branchNotFound("tmp")) { try lake.engine.branch(repository: "repo", name: "tmp") }
    }

    @Test func resetDiscardsAllOneObjectOrAPrefix() throws {
        let lake = try Lake()
        try lake.repo()
        let e = lake.engine
        try e.put("repo", "main", "keep")
        _ = try e.commit("repo", "main")
        for p in ["a/1", "a/2", "b/1", "c"] { try e.put("repo", "main", p) }
        try e.resetBranch(repository: "repo", branch: "main", scope: .object("c"))
        #expect(try e.contents("repo", "main").keys.sorted() == ["a/1", "a/2", "b/1", "keep"])
        try e.resetBranch(repository: "repo", branch: "main", scope: .prefix("a/"))
        #expect(try e.contents("repo", "main").keys.sorted() == ["b/1", "keep"])
        try e.resetBranch(repository: "repo", branch: "main")
        #expect(try e.contents("repo", "main") == ["keep": "v1"])
    }

    @Test func hardResetMovesHeadAndDropsStaging() throws {
        let lake = try Lake()
        try lake.repo()
        let e = lake.engine
        try e.put("repo", "main", "a")
        let first = try e.commit("repo", "main")
        try e.put("repo", "main", "b")
        _ = try e.commit("repo", "main")
        try e.put("repo", "main", "staged")
        let b = try e.hardReset(repository: "repo", branch: "main", to: "main~1")
        #expect(b.headCommitID == first.id)
        #expect(try e.contents("repo", "main") == ["a": "v1"])
    }
}
