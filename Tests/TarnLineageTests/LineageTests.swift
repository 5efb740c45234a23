import Foundation
import Testing
@testable import TarnCore
@testable import TarnLineage
import TarnMetadata

/// A lineage over a fresh SQLite file, with one repository to pin.
struct LineageLake {
    let dir: URL
    let store: SQLiteStore
    let engine: VersioningEngine
    let lineage: Lineage

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("tarn-lineage-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        store = try SQLiteStore(path: dir.appendingPathComponent("tarn.sqlite").path)
        engine = VersioningEngine(store: store)
        lineage = Lineage(engine: engine, store: store)
        try engine.createRepository(name: "data", storageNamespace: "local://data")
    }

    func put(_ path: String, _ version: String) throws {
        try engine.putObject(repository: "data", branch: "main", entry: Entry(
            path: path, physicalAddress: "a/\(path)/\(version)", size: 1, checksum: version, contentType: "text/plain", metadata: [:], mtime: 0))
    }

    func commit() throws -> String { try engine.commit(repository: "data", branch: "main", CommitOptions(message: "c")).id }
}

@Suite struct LineageTests {
    @Test func urisParse() {
        #expect(LineageURI("lakefs://repo/main/a/b.csv") == LineageURI(repository: "repo", ref: "main", path: "a/b.csv"))
        #expect(LineageURI("lakefs://repo/main") == LineageURI(repository: "repo", ref: "main", path: ""))
        #expect(LineageURI("lakefs://repo/main~1/") == LineageURI(repository: "repo", ref: "main~1", path: ""))
        for bad in ["s3://repo/main/x", "lakefs://repo", "lakefs:///main/x", "lakefs://repo//x"] { #expect(LineageURI(bad) == nil, "\(bad)") }
    }

    @Test func runIDsAreTimeOrderedUUIDs() throws {
        let a = Lineage.newRunID()
        Thread.sleep(forTimeInterval: 0.002)
        let b = Lineage.newRunID()
        #expect(UUID(uuidString: a) != nil && UUID(uuidString: b) != nil)
        #expect(Array(a)[14] == "7")
        #expect(a < b)
    }

    @Test func startPinsEveryRefAndAMissingRefCreatesNothing() throws {
        let lake = try LineageLake()
        try lake.put("x", "1")
        let c1 = try lake.commit()
        let run = try lake.lineage.start(name: "job", inputs: ["lakefs://data/main/", "lakefs://data/main~0/x"])
        #expect(run.inputs.map(\.commitID) == [c1, c1])
        #expect(run.inputs[1].s3URI == "s3://data/\(c1)/x")
        #expect(throws: EngineError.self) { try lake.lineage.start(name: "job", inputs: ["lakefs://data/nope/"]) }
        #expect(throws: LineageError.self) { try lake.lineage.start(name: "", inputs: []) }
        #expect(try lake.lineage.runs(LineageRunFilter(name: "job"), after: "", amount: 10).items.map(\.id) == [run.id])
    }

    @Test func impactComparesBytesThroughTheTrees() throws {
        let lake = try LineageLake()
        try lake.put("t/a", "1")
        try lake.put("t/b", "1")
        let c1 = try lake.commit()
        let early = try lake.lineage.start(name: "early", inputs: ["lakefs://data/\(c1)/t/"])
        try lake.put("t/a", "2")
        let c2 = try lake.commit()
        let late = try lake.lineage.start(name: "late", inputs: ["lakefs://data/\(c2)/"])
        let other = try lake.lineage.start(name: "other-prefix", inputs: ["lakefs://data/\(c2)/u/"])

        #expect(try lake.lineage.impact(of: "lakefs://data/\(c1)/t/a", depth: 1).map(\.run.id) == [early.id])
        #expect(try lake.lineage.impact(of: "lakefs://data/\(c2)/t/a", depth: 1).map(\.run.id) == [late.id])
        #expect(Set(try lake.lineage.impact(of: "lakefs://data/main/t/b", depth: 1).map(\.run.id)) == [early.id, late.id])
        // A whole commit: the runs pinned to it.
        #expect(Set(try lake.lineage.impact(of: "lakefs://data/\(c2)/", depth: 1).map(\.run.id)) == [late.id, other.id])
    }

    @Test func provenanceFollowsOutputsToTheCommitThatLastChangedThePath() throws {
        let lake = try LineageLake()
        try lake.put("raw", "1")
        let c1 = try lake.commit()
        let run = try lake.lineage.start(name: "etl", inputs: ["lakefs://data/\(c1)/raw"])
        try lake.put("clean", "1")
        let produced = try lake.engine.commit(repository: "data", branch: "main",
                                              CommitOptions(message: "etl", metadata: [Lineage.runIDKey: run.id]))
        try lake.lineage.recordCommit(runID: run.id, repository: "data", commitID: produced.id)
        _ = try lake.lineage.finish(id: run.id, status: .completed)
        try lake.put("unrelated", "1")
        _ = try lake.commit()

        // `clean` at main: the last commit that changed it is the run's output.
        let p = try lake.lineage.provenance(of: "lakefs://data/main/clean", depth: 5)
        #expect(p.producedBy.map(\.run.id) == [run.id])
        #expect(p.producedBy.first?.inputs.map(\.dataset) == [DatasetVersion(repository: "data", commitID: c1, path: "raw")])
        #expect(try lake.lineage.provenance(of: "lakefs://data/main/unrelated", depth: 5).producedBy.isEmpty)
        #expect(throws: LineageError.notRunning(id: run.id, status: "completed")) { try lake.lineage.finish(id: run.id, status: .failed) }
    }

    @Test func openLineageEventsCarryCommitsAsDatasetVersions() throws {
        let run = LineageRun(id: Lineage.newRunID(), name: "train", status: .completed, startedAt: Date(timeIntervalSince1970: 10),
                             endedAt: Date(timeIntervalSince1970: 20),
                             inputs: [PinnedInput(uri: "lakefs://d/main/x/", repository: "d", ref: "main", commitID: "abc", path: "x/")],
                             outputs: [RunOutput(uri: "s3://bucket/model.bin")])
        let lines = OpenLineage.events([run], since: Date(timeIntervalSince1970: 15))
        #expect(lines.count == 1)
        let event = try #require(try JSONSerialization.jsonObject(with: Data(lines[0])) as? [String: Any])
        #expect(event["eventType"] as? String == "COMPLETE")
        let input = try #require((event["inputs"] as? [[String: Any]])?.first)
        #expect(input["namespace"] as? String == "lakefs://d" && input["name"] as? String == "x/")
        #expect(((input["facets"] as? [String: Any])?["version"] as? [String: Any])?["datasetVersion"] as? String == "abc")
        #expect((event["outputs"] as? [[String: Any]])?.first?["namespace"] as? String == "s3://bucket")
        #expect(OpenLineage.events([run], since: Date(timeIntervalSince1970: 0)).count == 2)
    }

    @Test func activeSinceListsRunsThatStartedOrEndedSinceThen() throws {
        let lake = try LineageLake()
        func run(_ name: String, started: Double, ended: Double?) -> LineageRun {
            LineageRun(id: Lineage.newRunID(), name: name, status: ended == nil ? .running : .completed,
                       startedAt: Date(timeIntervalSince1970: started), endedAt: ended.map { Date(timeIntervalSince1970: $0) },
                       inputs: [], outputs: [])
        }
        try lake.store.insertLineageRun(run("old", started: 10, ended: 20))
        try lake.store.insertLineageRun(run("ended-late", started: 10, ended: 200))
        try lake.store.insertLineageRun(run("started-late", started: 150, ended: nil))
        try lake.store.insertLineageRun(run("still-running", started: 10, ended: nil))
        let names = try lake.store.listLineageRuns(LineageRunFilter(activeSince: Date(timeIntervalSince1970: 100)), before: nil, limit: 10)
            .map(\.name).sorted()
        #expect(names == ["ended-late", "started-late"])
        #expect(try lake.store.listLineageRuns(LineageRunFilter(), before: nil, limit: 10).count == 4)
    }
}
