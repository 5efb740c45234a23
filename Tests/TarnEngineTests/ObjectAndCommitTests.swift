import Testing
import TarnCore
import TarnMetadata

@Suite struct StagingTests {
    @Test func branchReadsOverlayStagingAndAtSignReadsCommittedHead() throws {
        let lake = try Lake()
        try lake.repo()
        let e = lake.engine
        try e.put("repo", "main", "a", "v1")
        _ = try e.commit("repo", "main")
        try e.put("repo", "main", "a", "v2")
        try e.put("repo", "main", "b", "v1")
        #expect(try e.getObject(repository: "repo", ref: "main", path: "a").checksum == "v2")
        #expect(try e.getObject(repository: "repo", ref: "main@", path: "a").checksum == "v1")
        #expect(throws: EngineError.objectNotFound("b")) { try e.getObject(repository: "repo", ref: "main@", path: "b") }
        #expect(try e.contents("repo", "main") == ["a": "v2", "b": "v1"])
        #expect(try e.contents("repo", "main@") == ["a": "v1"])
    }

    /// `locateObject` answers as `getObject` does, with the repository the entry belongs to,
    /// for every kind of ref; a missing repository is that, not a missing object.
    @Test func locateObjectReturnsTheEntryWithItsRepository() throws {
        let lake = try Lake()
        try lake.repo()
        let e = lake.engine
        try e.put("repo", "main", "a", "v1")
        let commit = try e.commit("repo", "main")
        _ = try e.createTag(repository: "repo", name: "t1", ref: commit.id)
        try e.put("repo", "main", "a", "v2")
        for (ref, version) in [("main", "v2"), ("main@", "v1"), ("t1", "v1"), (commit.id, "v1"), (String(commit.id.prefix(12)), "v1")] {
            let (repository, entry) = try e.locateObject(repository: "repo", ref: ref, path: "a")
            #expect(repository.name == "repo" && repository.storageNamespace == "local://repo")
            #expect(entry.checksum == version)
            #expect(try e.getObject(repository: "repo", ref: ref, path: "a") == entry)
        }
        #expect(throws: EngineError.objectNotFound("b")) { try e.locateObject(repository: "repo", ref: "main", path: "b") }
        #expect(throws: EngineError.repositoryNotFound("none")) { try e.locateObject(repository: "none", ref: "main", path: "a") }
        #expect(throws: EngineError.repositoryNotFound("none")) { try e.getObject(repository: "none", ref: "main", path: "a") }
    }

    @Test func deleteHidesCommittedObjectAndMissingObjectIsNotFound() throws {
        let lake = try Lake()
        try lake.repo()
        let e = lake.engine
        try e.put("repo", "main", "a")
        _ = try e.commit("repo", "main")
        try e.deleteObject(repository: "repo", branch: "main", path: "a")
        #expect(throws: EngineError.objectNotFound("a")) { try e.getObject(repository: "repo", ref: "main", path: "a") }
        #expect(throws: EngineError.objectNotFound("nope")) {
            try e.deleteObject(repository: "repo", branch: "main", path: "nope")
        }
        #expect(try e.contents("repo", "main").isEmpty)
    }

    @Test func writesToMissingBranchOrRepositoryFail() throws {
        let lake = try Lake()
        try lake.repo()
        #expect(throws: EngineError.branchNotFound("dev")) { try lake.engine.put("repo", "dev", "a") }
        #expect(throws: EngineError.repositoryNotFound("none")) { try lake.engine.put("none", "main", "a") }
        #expect(throws: EngineError.invalidArgument("empty path")) { try lake.engine.put("repo", "main", "") }
    }

    @Test func listingWithDelimiterGroupsCommonPrefixesAndPaginates() throws {
        let lake = try Lake()
        try lake.repo()
        let e = lake.engine
        for p in ["a/1", "a/2", "b/x/1", "b/y", "c", "d/1"] { try e.put("repo", "main", p) }
        _ = try e.commit("repo", "main")
        try e.put("repo", "main", "b/z")
        try e.deleteObject(repository: "repo", branch: "main", path: "d/1")
        let top = try e.listObjects(repository: "repo", ref: "main", delimiter: "/")
        #expect(top.items.map(\.path) == ["a/", "b/", "c"])
        #expect(top.items.map(\.isCommonPrefix) == [true, true, false])
        let underB = try e.listObjects(repository: "repo", ref: "main", prefix: "b/", delimiter: "/")
        #expect(underB.items.map(\.path) == ["b/x/", "b/y", "b/z"])
        let page1 = try e.listObjects(repository: "repo", ref: "main", delimiter: "/", amount: 1)
        #expect(page1.items.map(\.path) == ["a/"] && page1.hasMore)
        let page2 = try e.listObjects(repository: "repo", ref: "main", delimiter: "/", after: "a/", amount: 1)
        #expect(page2.items.map(\.path) == ["b/"] && page2.hasMore)
    }

    @Test func nonPositiveAmountIsRejected() throws {
        let lake = try Lake()
        try lake.repo()
        #expect(throws: EngineError.invalidArgument("amount must be positive")) {
            try lake.engine.listObjects(repository: "repo", ref: "main", amount: 0)
        }
    }
}

@Suite struct CommitTests {
    @Test func commitRecordsParentsMessageMetadataAndGeneration() throws {
        let lake = try Lake()
        try lake.repo()
        let e = lake.engine
        let root = try e.branch(repository: "repo", name: "main").headCommitID
        try e.put("repo", "main", "a")
        let c = try e.commit(repository: "repo", branch: "main",
                             CommitOptions(message: "add a", committer: "ann", metadata: ["k": "v"], date: 1_234))
        #expect(c.parents == [root])
        #expect(c.message == "add a" && c.committer == "ann" && c.metadata == ["k": "v"] && c.createdAt == 1_234)
        #expect(c.generation == 2)
        let stored = try e.getCommit(repository: "repo", id: c.id)
        #expect(stored == c)
        #expect(try e.branch(repository: "repo", name: "main").headCommitID == c.id)
    }

    @Test func commitIDIsHashOfCanonicalFields() throws {
        let a = Commit(parents: ["p"], metarangeID: "m", message: "x", committer: "c", createdAt: 1, metadata: ["b": "2", "a": "1"], generation: 2)
        let b = Commit(parents: ["p"], metarangeID: "m", message: "x", committer: "c", createdAt: 1, metadata: ["a": "1", "b": "2"], generation: 2)
        let c = Commit(parents: ["p"], metarangeID: "m", message: "y", committer: "c", createdAt: 1, metadata: ["a": "1", "b": "2"], generation: 2)
        #expect(a.id == b.id)
        #expect(a.id != c.id)
        #expect(a.id == ContentHash.sha256Hex(a.canonicalBytes))
    }

    @Test func emptyCommitIsRefusedUnlessAllowed() throws {
        let lake = try Lake()
        try lake.repo()
        let e = lake.engine
        #expect(throws: EngineError.noChanges) { try e.commit("repo", "main") }
        // A staged write identical to the committed entry changes nothing either.
        try e.put("repo", "main", "a")
        _ = try e.commit("repo", "main")
        try e.put("repo", "main", "a")
        #expect(throws: EngineError.noChanges) { try e.commit("repo", "main") }
        let empty = try e.commit(repository: "repo", branch: "main", CommitOptions(message: "empty", allowEmpty: true))
        #expect(empty.message == "empty")
    }

    @Test func stagingIsEmptyAfterCommitAndSweeperRemovesRows() throws {
        let lake = try Lake()
        try lake.repo()
        let e = lake.engine
        for i in 0..<50 { try e.put("repo", "main", "f\(i)") }
        _ = try e.commit("repo", "main")
        #expect(try e.diffUncommitted(repository: "repo", branch: "main").items.isEmpty)
        // Rows of a just-dropped token stay through the grace period.
        #expect(try e.sweepStaging(gracePeriod: 3600) == 0)
        #expect(try e.sweepStaging() == 50)
        #expect(try e.sweepStaging() == 0)
        #expect(try e.contents("repo", "main").count == 50)
    }

    @Test func logPaginatesFollowsFirstParentAndFiltersByPath() throws {
        let lake = try Lake()
        try lake.repo()
        let e = lake.engine
        try e.put("repo", "main", "x/1")
        let c1 = try e.commit("repo", "main", "c1")
        try e.createBranch(repository: "repo", name: "dev", from: "main")
        try e.put("repo", "dev", "y/1")
        let d1 = try e.commit("repo", "dev", "d1")
        try e.put("repo", "main", "x/2")
        let c2 = try e.commit("repo", "main", "c2")
        let m = try e.merge(repository: "repo", source: "dev", into: "main")
        let all = try e.log(repository: "repo", ref: "main").items.map(\.id)
        #expect(all.count == 5)
        #expect(all.first == m.id)
        #expect(Set(all) == Set([m.id, c2.id, d1.id, c1.id, try e.log(repository: "repo", ref: c1.id + "~1").items[0].id]))
        let firstParent = try e.log(repository: "repo", ref: "main", firstParent: true).items.map(\.id)
        #expect(!firstParent.contains(d1.id) && firstParent.count == 4)
        let page = try e.log(repository: "repo", ref: "main", amount: 2)
        #expect(page.items.count == 2 && page.hasMore)
        let next = try e.log(repository: "repo", ref: "main", after: page.items[1].id, amount: 10)
        #expect(next.items.count == 3 && !next.hasMore)
        #expect(try e.log(repository: "repo", ref: "main", prefixes: ["y/"]).items.map(\.id) == [m.id, d1.id])
        #expect(try e.log(repository: "repo", ref: "main", objects: ["x/1"]).items.map(\.id) == [c1.id])
    }
}

@Suite struct RefTests {
    @Test func everyRefFormResolves() throws {
        let lake = try Lake()
        try lake.repo()
        let e = lake.engine
        let root = try e.branch(repository: "repo", name: "main").headCommitID
        try e.put("repo", "main", "a")
        let c1 = try e.commit("repo", "main", "c1")
        try e.createBranch(repository: "repo", name: "dev", from: "main")
        try e.put("repo", "dev", "b")
        let d1 = try e.commit("repo", "dev", "d1")
        try e.put("repo", "main", "c")
        let c2 = try e.commit("repo", "main", "c2")
        let m = try e.merge(repository: "repo", source: "dev", into: "main")
        try e.createTag(repository: "repo", name: "v1.0", ref: "main~1")

        func id(_ ref: String) throws -> String { try e.resolveCommit(repository: "repo", ref: ref).id }
        #expect(try id("main") == m.id)
        #expect(try id("main@") == m.id)
        #expect(try id(m.id) == m.id)
        #expect(try id(String(m.id.prefix(12))) == m.id)
        #expect(try id("main~1") == c2.id)
        #expect(try id("main~") == c2.id)
        #expect(try id("main^2") == d1.id)
        #expect(try id("main^2~1") == c1.id)
        #expect(try id("main~2") == c1.id)
        #expect(try id("main~3") == root)
        #expect(try id("main^0") == m.id)
        #expect(try id("v1.0") == c2.id)
        #expect(try id("v1.0~1") == c1.id)
        #expect(try e.resolve(repository: "repo", ref: "main").branch != nil)
        #expect(try e.resolve(repository: "repo", ref: "main@").branch == nil)
        #expect(throws: EngineError.refNotFound("main~9")) { try id("main~9") }
        #expect(throws: EngineError.refNotFound("main^3")) { try id("main^3") }
        #expect(throws: EngineError.refNotFound("nothing")) { try id("nothing") }
        #expect(throws: EngineError.branchNotFound("v1.0")) { try id("v1.0@") }
        #expect(throws: EngineError.invalidArgument("bad ref expression: main@@")) { try id("main@@") }
    }

    @Test func ambiguousCommitPrefixIsAnError() throws {
        let lake = try Lake()
        try lake.repo()
        let e = lake.engine
        var ids = [try e.branch(repository: "repo", name: "main").headCommitID]
        for i in 0..<40 {
            try e.put("repo", "main", "f\(i)")
            ids.append(try e.commit("repo", "main").id)
        }
        // 41 commit IDs over 16 first digits: some first digit is shared.
        let shared = Dictionary(grouping: ids, by: { $0.prefix(1) }).first { $0.value.count > 1 }!.key
        #expect(throws: EngineError.ambiguousRef(String(shared))) { try e.resolveCommit(repository: "repo", ref: String(shared)) }
    }

    @Test func tagsCanBeCreatedListedAndDeleted() throws {
        let lake = try Lake()
        try lake.repo()
        let e = lake.engine
        let head = try e.branch(repository: "repo", name: "main").headCommitID
        for t in ["v2", "v1", "rc-1"] { try e.createTag(repository: "repo", name: t, ref: "main") }
        #expect(try e.tag(repository: "repo", name: "v1").commitID == head)
        #expect(throws: EngineError.alreadyExists(kind: "tag", name: "v1")) { try e.createTag(repository: "repo", name: "v1", ref: "main") }
        #expect(throws: EngineError.invalidName(kind: "tag", name: "a..b")) { try e.createTag(repository: "repo", name: "a..b", ref: "main") }
        #expect(try e.listTags(repository: "repo", prefix: "v").items.map(\.name) == ["v1", "v2"])
        try e.deleteTag(repository: "repo", name: "v1")
        #expect(throws: EngineError.tagNotFound("v1")) { try e.tag(repository: "repo", name: "v1") }
        #expect(throws: EngineError.tagNotFound("v1")) { try e.deleteTag(repository: "repo", name: "v1") }
    }
}
