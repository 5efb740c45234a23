import Testing
import TarnCore
import TarnMetadata

@Suite struct DiffTests {
    @Test func twoDotThreeDotAndUncommittedDiffs() throws {
        let lake = try Lake()
        try lake.repo()
        let e = lake.engine
        for p in ["keep", "change", "remove"] { try e.put("repo", "main", p) }
        _ = try e.commit("repo", "main")
        try e.createBranch(repository: "repo", name: "dev", from: "main")
        try e.put("repo", "dev", "change", "v2")
        try e.put("repo", "dev", "add")
        try e.deleteObject(repository: "repo", branch: "dev", path: "remove")
        let uncommitted = try e.diffUncommitted(repository: "repo", branch: "dev").items
        #expect(uncommitted.map { "\($0.kind) \($0.path)" } == ["added add", "changed change", "removed remove"])
        _ = try e.commit("repo", "dev")
        try e.put("repo", "main", "main-only")
        _ = try e.commit("repo", "main")
        let twoDot = try e.diff(repository: "repo", left: "main", right: "dev").items
        #expect(twoDot.map { "\($0.kind) \($0.path)" } == ["added add", "changed change", "removed main-only", "removed remove"])
        let threeDot = try e.diff(repository: "repo", left: "main", right: "dev", mode: .threeDot).items
        #expect(threeDot.map { "\($0.kind) \($0.path)" } == ["added add", "changed change", "removed remove"])
        #expect(twoDot[1].left?.checksum == "v1" && twoDot[1].right?.checksum == "v2")
    }

    @Test func diffPrefixDelimiterAndPagination() throws {
        let lake = try Lake()
        try lake.repo()
        let e = lake.engine
        let base = try e.branch(repository: "repo", name: "main").headCommitID
        for p in ["a/1", "a/2", "b/1/x", "b/2", "c"] { try e.put("repo", "main", p) }
        _ = try e.commit("repo", "main")
        let grouped = try e.diff(repository: "repo", left: base, right: "main", delimiter: "/").items
        #expect(grouped.map(\.path) == ["a/", "b/", "c"])
        #expect(grouped.map(\.isCommonPrefix) == [true, true, false])
        let underB = try e.diff(repository: "repo", left: base, right: "main", prefix: "b/", delimiter: "/").items
        #expect(underB.map(\.path) == ["b/1/", "b/2"])
        let p1 = try e.diff(repository: "repo", left: base, right: "main", amount: 2)
        #expect(p1.items.map(\.path) == ["a/1", "a/2"] && p1.hasMore)
        let p2 = try e.diff(repository: "repo", left: base, right: "main", after: "a/2", amount: 2)
        #expect(p2.items.map(\.path) == ["b/1/x", "b/2"] && p2.hasMore)
    }
}

@Suite struct MergeTests {
    func twoBranches(_ lake: Lake) throws -> VersioningEngine {
        try lake.repo()
        let e = lake.engine
        for p in ["shared", "s-only", "d-only", "both"] { try e.put("repo", "main", p) }
        _ = try e.commit("repo", "main")
        try e.createBranch(repository: "repo", name: "dev", from: "main")
        return e
    }

    @Test func cleanMergeCombinesBothSidesWithTwoParents() throws {
        let lake = try Lake()
        let e = try twoBranches(lake)
        try e.put("repo", "dev", "s-only", "s")
        try e.put("repo", "dev", "new-s")
        let s = try e.commit("repo", "dev")
        try e.put("repo", "main", "d-only", "d")
        try e.deleteObject(repository: "repo", branch: "main", path: "shared")
        let d = try e.commit("repo", "main")
        let m = try e.merge(repository: "repo", source: "dev", into: "main", MergeOptions(committer: "m"))
        #expect(m.parents == [d.id, s.id])
        #expect(m.generation == max(d.generation, s.generation) + 1)
        #expect(m.metadata[".lakefs.merge.strategy"] == "default")
        #expect(try e.contents("repo", "main") == ["s-only": "s", "new-s": "v1", "d-only": "d", "both": "v1"])
        // Merging again changes nothing.
        #expect(throws: EngineError.noChanges) { try e.merge(repository: "repo", source: "dev", into: "main") }
        _ = try e.merge(repository: "repo", source: "dev", into: "main", MergeOptions(allowEmpty: true))
    }

    @Test func conflictsAreReportedAndStrategiesSettleThem() throws {
        let lake = try Lake()
        let e = try twoBranches(lake)
        try e.put("repo", "dev", "both", "s")
        try e.put("repo", "dev", "shared", "s")
        try e.put("repo", "dev", "new-s")
        _ = try e.commit("repo", "dev")
        try e.put("repo", "main", "both", "d")
        try e.deleteObject(repository: "repo", branch: "main", path: "shared")
        let head = try e.commit("repo", "main")
        #expect(throws: EngineError.conflict(paths: ["both", "shared"])) {
            try e.merge(repository: "repo", source: "dev", into: "main")
        }
        #expect(try e.branch(repository: "repo", name: "main").headCommitID == head.id)
        try e.createBranch(repository: "repo", name: "main2", from: "main")
        _ = try e.merge(repository: "repo", source: "dev", into: "main", MergeOptions(strategy: .destWins))
        #expect(try e.contents("repo", "main")["both"] == "d")
        #expect(try e.contents("repo", "main")["shared"] == nil)
        #expect(try e.contents("repo", "main")["new-s"] == "v1")
        _ = try e.merge(repository: "repo", source: "dev", into: "main2", MergeOptions(strategy: .sourceWins))
        #expect(try e.contents("repo", "main2")["both"] == "s")
        #expect(try e.contents("repo", "main2")["shared"] == "s")
    }

    @Test func identicalChangesAndDoubleDeletesDoNotConflict() throws {
        let lake = try Lake()
        let e = try twoBranches(lake)
        try e.put("repo", "dev", "both", "same")
        try e.deleteObject(repository: "repo", branch: "dev", path: "shared")
        try e.put("repo", "dev", "new-s")
        _ = try e.commit("repo", "dev")
        try e.put("repo", "main", "both", "same")
        try e.deleteObject(repository: "repo", branch: "main", path: "shared")
        _ = try e.commit("repo", "main")
        _ = try e.merge(repository: "repo", source: "dev", into: "main")
        #expect(try e.contents("repo", "main")["both"] == "same")
    }

    @Test func dirtyDestinationIsRefusedAndSquashHasOneParent() throws {
        let lake = try Lake()
        let e = try twoBranches(lake)
        try e.put("repo", "dev", "x")
        _ = try e.commit("repo", "dev")
        try e.put("repo", "main", "uncommitted")
        #expect(throws: EngineError.dirtyBranch("main")) { try e.merge(repository: "repo", source: "dev", into: "main") }
        try e.resetBranch(repository: "repo", branch: "main")
        let head = try e.branch(repository: "repo", name: "main").headCommitID
        let squash = try e.merge(repository: "repo", source: "dev", into: "main", MergeOptions(squash: true))
        #expect(squash.parents == [head])
        #expect(try e.contents("repo", "main")["x"] == "v1")
    }

    @Test func revertUndoesACommitAndNeedsParentForMerges() throws {
        let lake = try Lake()
        let e = try twoBranches(lake)
        try e.put("repo", "main", "both", "v2")
        try e.put("repo", "main", "added")
        let c = try e.commit("repo", "main")
        try e.put("repo", "main", "later")
        _ = try e.commit("repo", "main")
        let r = try e.revert(repository: "repo", branch: "main", ref: c.id)
        #expect(r.message == "Revert \(c.id)")
        let now = try e.contents("repo", "main")
        #expect(now["both"] == "v1" && now["added"] == nil && now["later"] == "v1")

        try e.put("repo", "dev", "from-dev")
        _ = try e.commit("repo", "dev")
        let m = try e.merge(repository: "repo", source: "dev", into: "main")
        #expect(throws: EngineError.invalidArgument("commit \(m.id) is a merge commit: a parent number is required")) {
            try e.revert(repository: "repo", branch: "main", ref: m.id)
        }
        _ = try e.revert(repository: "repo", branch: "main", ref: m.id, parentNumber: 1)
        #expect(try e.contents("repo", "main")["from-dev"] == nil)
    }

    @Test func revertConflictsWithLaterChangeToSamePath() throws {
        let lake = try Lake()
        let e = try twoBranches(lake)
        try e.put("repo", "main", "both", "v2")
        let c = try e.commit("repo", "main")
        try e.put("repo", "main", "both", "v3")
        _ = try e.commit("repo", "main")
        #expect(throws: EngineError.conflict(paths: ["both"])) { try e.revert(repository: "repo", branch: "main", ref: c.id) }
    }

    @Test func cherryPickAppliesOneCommitsChanges() throws {
        let lake = try Lake()
        let e = try twoBranches(lake)
        try e.put("repo", "dev", "first")
        _ = try e.commit("repo", "dev")
        try e.put("repo", "dev", "second")
        let picked = try e.commit(repository: "repo", branch: "dev", CommitOptions(message: "pick me", metadata: ["k": "v"]))
        let c = try e.cherryPick(repository: "repo", branch: "main", ref: picked.id)
        #expect(c.message == "pick me" && c.metadata == ["k": "v"])
        let now = try e.contents("repo", "main")
        #expect(now["second"] == "v1" && now["first"] == nil)
    }

    @Test func mergeBaseIsLowestCommonAncestor() throws {
        let lake = try Lake()
        let e = try twoBranches(lake)
        let fork = try e.branch(repository: "repo", name: "dev").headCommitID
        try e.put("repo", "dev", "a")
        _ = try e.commit("repo", "dev")
        try e.put("repo", "main", "b")
        _ = try e.commit("repo", "main")
        #expect(try e.findMergeBase(repository: "repo", "main", "dev")?.id == fork)
        let m = try e.merge(repository: "repo", source: "dev", into: "main")
        try e.put("repo", "dev", "c")
        _ = try e.commit("repo", "dev")
        // After the merge, dev's previous head is the base.
        #expect(try e.findMergeBase(repository: "repo", "main", "dev")?.id == m.parents[1])
    }
}
