import Foundation
import Testing
import TarnCore
@testable import TarnMetadata

/// Read connections keep their SQLite snapshot from one read to the next while nothing is
/// committed (`SQLiteDatabase.read`). These hold that to what a transaction per read gives.
@Suite struct SnapshotReuseTests {
    /// Each write is followed at once by a read on the same store, whose pooled connection held
    /// a snapshot from before the write; half the writes come from a second store on the same
    /// file, as another process's would.
    @Test func everyReadSeesWhatWasCommittedBeforeIt() throws {
        let lake = try Lake()
        try lake.repo()
        let other = VersioningEngine(store: try SQLiteStore(path: lake.store.path))
        try lake.engine.put("repo", "main", "k", "v0")
        for i in 1...200 {
            // Reads before the write, so the connection the next read gets holds a snapshot.
            for _ in 0..<3 { _ = try lake.engine.getObject(repository: "repo", ref: "main", path: "k") }
            let writer = i % 2 == 0 ? lake.engine : other
            try writer.put("repo", "main", "k", "v\(i)")
            let seen = try lake.engine.getObject(repository: "repo", ref: "main", path: "k")
            #expect(seen.physicalAddress == "data/k/v\(i)", "write \(i) by \(i % 2 == 0 ? "this" : "another") store")
            let seenByOther = try other.getObject(repository: "repo", ref: "main", path: "k")
            #expect(seenByOther.physicalAddress == "data/k/v\(i)")
        }
    }

    /// A snapshot that uses WAL frames is not kept: it would keep writers from starting the WAL
    /// over, and under steady writes the WAL would grow without end.
    @Test func onlyASnapshotOfACheckpointedWALIsKept() throws {
        let lake = try Lake()
        let db = try SQLiteDatabase(path: lake.directory.appendingPathComponent("t.sqlite").path, layout: .init(
            pageSize: 4096, synchronous: "NORMAL", migrations: [(1, "t", Array("CREATE TABLE t (v INTEGER)".utf8))]))
        func count() throws -> Int64 {
            try db.read { c in
                let s = try c.statement("SELECT count(*) FROM t")
                _ = try s.step()
                return s.int(0)
            }
        }
        try db.checkpoint()
        #expect(try count() == 0)
        #expect(db.pooledSnapshots == 1)
        try db.write { c in try c.statement("INSERT INTO t VALUES (1)").run() }
        #expect(try count() == 1)
        #expect(db.pooledSnapshots == 0)
        try db.checkpoint()
        #expect(try count() == 1)
        #expect(db.pooledSnapshots == 1)
    }

    /// A checkpoint truncates the WAL although the pooled read connections of both stores held
    /// snapshots (it waits for readers to leave the WAL, up to SQLite's 10 s busy timeout).
    @Test func aCheckpointTruncatesTheWALWhileReadersHeldSnapshots() throws {
        let lake = try Lake()
        try lake.repo()
        let other = VersioningEngine(store: try SQLiteStore(path: lake.store.path))
        for i in 0..<50 {
            try lake.engine.put("repo", "main", "k\(i)", "v\(i)")
            for engine in [lake.engine, other] { _ = try engine.getObject(repository: "repo", ref: "main", path: "k\(i)") }
        }
        let started = Date()
        try lake.store.checkpoint()
        let wal = try FileManager.default.attributesOfItem(atPath: lake.store.path + "-wal")[.size] as? Int
        #expect(wal == 0)
        // The other store's idle connections give their snapshots up on its maintenance tick
        // (every 250 ms), not after the busy timeout.
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(try lake.engine.getObject(repository: "repo", ref: "main", path: "k49").physicalAddress == "data/k49/v49")
    }
}
