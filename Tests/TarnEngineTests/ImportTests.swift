import Foundation
import Testing
import TarnCore
import TarnMetadata

/// An entry as an import makes it: an absolute address outside every namespace.
func imported(_ path: String, _ version: String = "i1") -> Entry {
    Entry(path: path, physicalAddress: "s3://source/\(path)", size: 10, checksum: version, mtime: 1_700_000_000)
}

@Suite struct ImportTests {
    @Test func importCommitsGatheredEntriesAndReplacesTheDestinationPrefix() throws {
        let lake = try Lake()
        try lake.repo()
        let e = lake.engine
        try e.put("repo", "main", "data/old", "v1")
        try e.put("repo", "main", "data/kept", "v1")
        try e.put("repo", "main", "datalake/outside", "v1")
        try e.put("repo", "main", "other", "v1")
        let before = try e.commit("repo", "main")

        let staging = try e.beginImport()
        try e.stageImported([imported("data/kept", "i2"), imported("data/new/b")], in: staging)
        try e.stageImported([imported("data/new/a")], in: staging)
        let commit = try e.commitImport(staging, repository: "repo", branch: "main", replacing: ["data/"],
                                        CommitOptions(message: "import", committer: "tester"))

        #expect(commit.parents == [before.id])
        #expect(try e.contents("repo", "main") == ["data/kept": "i2", "data/new/a": "i1", "data/new/b": "i1",
                                                    "datalake/outside": "v1", "other": "v1"])
        #expect(try e.getObject(repository: "repo", ref: commit.id, path: "data/new/a").physicalAddress == "s3://source/data/new/a")
        #expect(try e.branch(repository: "repo", name: "main").headCommitID == commit.id)
    }

    @Test func importLeavesTheBranchsStagedChangesStaged() throws {
        let lake = try Lake()
        try lake.repo()
        let e = lake.engine
        try e.put("repo", "main", "a", "v1")
        _ = try e.commit("repo", "main")
        try e.put("repo", "main", "staged", "s1")

        let staging = try e.beginImport()
        try e.stageImported([imported("in/x")], in: staging)
        let commit = try e.commitImport(staging, repository: "repo", branch: "main", replacing: ["in/"], CommitOptions(message: "import"))

        #expect(try e.contents("repo", commit.id) == ["a": "v1", "in/x": "i1"])
        #expect(try e.contents("repo", "main") == ["a": "v1", "in/x": "i1", "staged": "s1"])
        let next = try e.commit("repo", "main")
        #expect(try e.contents("repo", next.id) == ["a": "v1", "in/x": "i1", "staged": "s1"])
    }

    @Test func importReplacingEverythingKeepsOnlyTheImport() throws {
        let lake = try Lake()
        try lake.repo()
        let e = lake.engine
        for p in ["a", "b/c", "z"] { try e.put("repo", "main", p) }
        _ = try e.commit("repo", "main")
        let staging = try e.beginImport()
        try e.stageImported([imported("b/c"), imported("m")], in: staging)
        let commit = try e.commitImport(staging, repository: "repo", branch: "main", replacing: ["", "b/"], CommitOptions(message: "all"))
        #expect(try e.contents("repo", commit.id) == ["b/c": "i1", "m": "i1"])
    }

    @Test func importOntoAProtectedBranchIsRefusedAndCommitsNothing() throws {
        let lake = try Lake()
        try lake.repo()
        let e = lake.engine
        let head = try e.branch(repository: "repo", name: "main").headCommitID
        _ = try e.setBranchProtection(repository: "repo", patterns: ["main"])
        let staging = try e.beginImport()
        try e.stageImported([imported("x")], in: staging)
        #expect(throws: EngineError.self) {
            try e.commitImport(staging, repository: "repo", branch: "main", replacing: [""], CommitOptions(message: "no"))
        }
        #expect(try e.branch(repository: "repo", name: "main").headCommitID == head)
    }

    @Test func aDiscardedImportLeavesNoTrace() throws {
        let lake = try Lake()
        try lake.repo()
        let e = lake.engine
        let head = try e.branch(repository: "repo", name: "main").headCommitID
        let staging = try e.beginImport()
        try e.stageImported([imported("x")], in: staging)
        try e.discardImport(staging)
        #expect(try e.branch(repository: "repo", name: "main").headCommitID == head)
        #expect(try e.contents("repo", "main").isEmpty)
        #expect(throws: EngineError.invalidArgument("empty path")) { try e.stageImported([imported("")], in: staging) }
    }

    @Test func importedLastModifiedParsesAsUnixSeconds() {
        #expect(HTTPDate.parseISO8601("1970-01-01T00:00:00.000Z") == 0)
        #expect(HTTPDate.parseISO8601("2023-11-14T22:13:20.000Z") == 1_700_000_000)
        #expect(HTTPDate.parseISO8601(HTTPDate.iso8601(1_764_633_600)) == 1_764_633_600)
        #expect(HTTPDate.parseISO8601("2000-02-29T12:00:00Z") == 951_825_600)
        #expect(HTTPDate.parseISO8601("yesterday") == nil)
    }
}
