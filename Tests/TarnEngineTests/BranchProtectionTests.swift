import Testing
@testable import TarnCore

@Suite struct BranchProtectionTests {
    @Test func globMatchesWholeNamesWithStarAndQuestionMark() {
        #expect(Glob.matches("main", "main"))
        #expect(!Glob.matches("main", "main2"))
        #expect(Glob.matches("release-*", "release-1.2"))
        #expect(Glob.matches("release-*", "release-"))
        #expect(!Glob.matches("release-*", "hotfix-release-1"))
        #expect(Glob.matches("v?", "v1"))
        #expect(!Glob.matches("v?", "v10"))
        #expect(Glob.matches("*-prod-*", "eu-prod-2"))
        #expect(Glob.matches("*", "anything"))
    }

    @Test func protectedBranchesTakeMergesButNoDirectWrites() throws {
        let lake = try Lake()
        try lake.repo()
        let e = lake.engine
        try e.put("repo", "main", "a")
        let first = try e.commit("repo", "main")
        _ = try e.createBranch(repository: "repo", name: "dev", from: "main")
        try e.setBranchProtection(repository: "repo", patterns: ["ma*"])

        #expect(throws: EngineError.protectedBranch(branch: "main", action: "write to")) { try e.put("repo", "main", "b") }
        #expect(throws: EngineError.protectedBranch(branch: "main", action: "delete from")) {
            try e.deleteObject(repository: "repo", branch: "main", path: "a")
        }
        // Even a path that is not there: protection answers before existence.
        #expect(throws: EngineError.protectedBranch(branch: "main", action: "delete from")) {
            try e.deleteObject(repository: "repo", branch: "main", path: "missing")
        }
        #expect(throws: EngineError.protectedBranch(branch: "main", action: "commit to")) {
            try e.commit(repository: "repo", branch: "main", CommitOptions(message: "m", allowEmpty: true))
        }
        #expect(throws: EngineError.protectedBranch(branch: "main", action: "reset")) { try e.resetBranch(repository: "repo", branch: "main") }
        #expect(throws: EngineError.protectedBranch(branch: "main", action: "reset")) {
            try e.hardReset(repository: "repo", branch: "main", to: first.id)
        }

        // Changes reach it through a merge, and a revert is allowed too.
        try e.put("repo", "dev", "b")
        _ = try e.commit("repo", "dev")
        let merge = try e.merge(repository: "repo", source: "dev", into: "main", MergeOptions())
        #expect(try e.contents("repo", "main").keys.sorted() == ["a", "b"])
        _ = try e.revert(repository: "repo", branch: "main", ref: merge.id, parentNumber: 1)
        #expect(try e.contents("repo", "main").keys.sorted() == ["a"])

        // Unprotected again: writes land.
        try e.setBranchProtection(repository: "repo", patterns: [])
        try e.put("repo", "main", "c")
    }

    @Test func updatesConditionedOnAStaleVersionFail() throws {
        let lake = try Lake()
        try lake.repo()
        let e = lake.engine
        #expect(try e.branchProtection(repository: "repo").version == 0)
        let v1 = try e.setBranchProtection(repository: "repo", patterns: ["main"], ifVersion: 0)
        #expect(try e.branchProtection(repository: "repo") == (["main"], v1))
        // A second editor still holding version 0 loses; the list is unchanged.
        #expect(throws: EngineError.preconditionFailed("branch protection rules changed since they were read")) {
            try e.setBranchProtection(repository: "repo", patterns: [], ifVersion: 0)
        }
        #expect(try e.branchProtection(repository: "repo").patterns == ["main"])
        #expect(throws: EngineError.repositoryNotFound("nope")) { try e.branchProtection(repository: "nope") }
        #expect(throws: EngineError.self) { try e.setBranchProtection(repository: "repo", patterns: [""]) }
    }
}
