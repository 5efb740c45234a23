import Synchronization
import Testing
@testable import TarnCore

/// The gate pre-commit and pre-merge hooks run in: it sees the commit about to become the
/// head, and refusing it leaves the branch as it was.
@Suite struct CommitGateTests {
    struct Refused: Error {}

    @Test func aRefusedCommitKeepsTheHeadAndTheStagedChanges() throws {
        let lake = try Lake()
        try lake.repo()
        let e = lake.engine
        try e.put("repo", "main", "a")
        let before = try e.branch(repository: "repo", name: "main").headCommitID
        let seen = Mutex<String?>(nil)
        #expect(throws: Refused.self) {
            try e.commit(repository: "repo", branch: "main", CommitOptions(message: "m")) { c in
                seen.withLock { $0 = c.id }
                throw Refused()
            }
        }
        #expect(seen.withLock { $0 } != nil)
        #expect(try e.branch(repository: "repo", name: "main").headCommitID == before)
        #expect(try e.contents("repo", "main").keys.sorted() == ["a"])
        // The same changes commit once the gate lets them through, as the commit it was shown.
        let shown = Mutex<String?>(nil)
        let made = try e.commit(repository: "repo", branch: "main", CommitOptions(message: "m")) { c in shown.withLock { $0 = c.id } }
        #expect(made.id == shown.withLock { $0 })
        #expect(try e.branch(repository: "repo", name: "main").headCommitID == made.id)
    }

    @Test func theMergeGateSeesTheMergeCommitBeforeTheBranchMoves() throws {
        let lake = try Lake()
        try lake.repo()
        let e = lake.engine
        try e.put("repo", "main", "a")
        _ = try e.commit("repo", "main")
        _ = try e.createBranch(repository: "repo", name: "dev", from: "main")
        try e.put("repo", "dev", "b")
        let source = try e.commit("repo", "dev")
        let mainHead = try e.branch(repository: "repo", name: "main").headCommitID

        #expect(throws: Refused.self) {
            try e.merge(repository: "repo", source: "dev", into: "main") { c in
                #expect(c.parents == [mainHead, source.id])
                // Inside the gate the branch has not moved yet.
                #expect(try e.branch(repository: "repo", name: "main").headCommitID == mainHead)
                throw Refused()
            }
        }
        #expect(try e.branch(repository: "repo", name: "main").headCommitID == mainHead)
        let shown = Mutex<String?>(nil)
        let merged = try e.merge(repository: "repo", source: "dev", into: "main") { c in shown.withLock { $0 = c.id } }
        #expect(merged.id == shown.withLock { $0 })
        #expect(try e.contents("repo", "main").keys.sorted() == ["a", "b"])
    }

    @Test func protectedBranchesCannotBeDeleted() throws {
        let lake = try Lake()
        try lake.repo()
        let e = lake.engine
        _ = try e.createBranch(repository: "repo", name: "release-1", from: "main")
        try e.setBranchProtection(repository: "repo", patterns: ["release-*"])
        #expect(throws: EngineError.protectedBranch(branch: "release-1", action: "delete")) {
            try e.deleteBranch(repository: "repo", name: "release-1")
        }
        try e.setBranchProtection(repository: "repo", patterns: [])
        try e.deleteBranch(repository: "repo", name: "release-1")
    }
}
