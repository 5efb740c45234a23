import Foundation
import TarnCore

/// Lineage runs, their pinned inputs and their outputs (`0008_lineage.sql`).
extension SQLiteStore {
    public func insertLineageRun(_ run: LineageRun) throws {
        try write { c in
            try c.statement("""
                INSERT INTO lineage_runs (id, name, status, started_ms, ended_ms, external_ids, params, metrics)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """).bind(.text(run.id), .text(run.name), .text(run.status.rawValue), .int(Self.millis(run.startedAt)),
                          run.endedAt.map { .int(Self.millis($0)) } ?? .null, .text(Self.json(run.externalIDs)), .text(Self.json(run.params)),
                          .text(Self.json(run.metrics))).run()
            let s = try c.statement("INSERT INTO lineage_inputs (run_id, position, repository, ref, commit_id, path) VALUES (?, ?, ?, ?, ?, ?)")
            for (i, input) in run.inputs.enumerated() {
                s.reset()
                try s.bind(.text(run.id), .int(Int64(i)), .text(input.repository), .text(input.ref), .text(input.commitID),
                           .text(input.path)).run()
            }
            try insertOutputs(c, run.id, from: 0, run.outputs)
        }
    }

    /// Ends a running run; false when it is not running (already finished).
    public func finishLineageRun(id: String, status: LineageRun.Status, endedAt: Date, metrics: [String: Double], outputs: [RunOutput]) throws -> Bool {
        try write { c in
            let s = try c.statement("UPDATE lineage_runs SET status = ?, ended_ms = ?, metrics = ? WHERE id = ? AND status = 'running'")
            try s.bind(.text(status.rawValue), .int(Self.millis(endedAt)), .text(Self.json(metrics)), .text(id)).run()
            guard c.changes > 0 else { return false }
            try insertOutputs(c, id, from: try outputCount(c, id), outputs)
            return true
        }
    }

    /// Adds outputs to a run, finished or not (a commit made with its run ID).
    public func addLineageOutputs(runID: String, _ outputs: [RunOutput]) throws {
        try write { c in try insertOutputs(c, runID, from: try outputCount(c, runID), outputs) }
    }

    public func deleteLineageRun(id: String) throws -> Bool {
        try write { c in
            try c.statement("DELETE FROM lineage_runs WHERE id = ?").bind(.text(id)).run()
            let deleted = c.changes > 0
            for table in ["lineage_inputs", "lineage_outputs"] {
                try c.statement("DELETE FROM \(table) WHERE run_id = ?").bind(.text(id)).run()
            }
            return deleted
        }
    }

    public func lineageRun(id: String) throws -> LineageRun? {
        try read { c in try loadRuns(c, ids: [id]).first }
    }

    /// Runs newest first (IDs are time-ordered), those before the run `before` when given.
    public func listLineageRuns(_ filter: LineageRunFilter, before: String?, limit: Int) throws -> [LineageRun] {
        try read { c in
            let s = try c.statement("""
                SELECT id FROM lineage_runs r
                WHERE (?1 IS NULL OR id < ?1) AND (?2 IS NULL OR name = ?2) AND (?3 IS NULL OR status = ?3)
                  AND (?4 IS NULL OR started_ms >= ?4)
                  AND (?5 IS NULL OR EXISTS (SELECT 1 FROM lineage_inputs i WHERE i.run_id = r.id AND i.repository = ?5)
                                  OR EXISTS (SELECT 1 FROM lineage_outputs o WHERE o.run_id = r.id AND o.repository = ?5))
                  AND (?6 IS NULL OR EXISTS (SELECT 1 FROM lineage_inputs i WHERE i.run_id = r.id AND i.commit_id = ?6))
                  AND (?8 IS NULL OR started_ms >= ?8 OR ended_ms >= ?8)
                ORDER BY id DESC LIMIT ?7
                """)
            s.bind(Self.optional(before), Self.optional(filter.name), Self.optional(filter.status?.rawValue),
                   filter.since.map { .int(Self.millis($0)) } ?? .null, Self.optional(filter.repository), Self.optional(filter.inputCommit),
                   .int(Int64(limit)), filter.activeSince.map { .int(Self.millis($0)) } ?? .null)
            let ids = try collect(s, limit: limit) { $0.text(0) }
            return try loadRuns(c, ids: ids)
        }
    }

    /// Every pinned input of a repository with its run: what impact queries start from.
    public func pinnedInputs(repository: String) throws -> [(runID: String, input: PinnedInput)] {
        try read { c in
            let s = try c.statement("SELECT run_id, ref, commit_id, path FROM lineage_inputs WHERE repository = ? ORDER BY run_id")
            s.bind(.text(repository))
            var out: [(String, PinnedInput)] = []
            while try s.step() {
                out.append((s.text(0), PinnedInput(uri: "", repository: repository, ref: s.text(1), commitID: s.text(2), path: s.text(3))))
            }
            return out
        }
    }

    /// The runs whose outputs are one of `commitIDs` in `repository`.
    public func runsProducing(repository: String, commitIDs: [String]) throws -> [(runID: String, output: RunOutput)] {
        guard !commitIDs.isEmpty else { return [] }
        return try read { c in
            let s = try c.statement("SELECT run_id, uri, commit_id, path FROM lineage_outputs WHERE repository = ? AND commit_id = ?")
            var out: [(String, RunOutput)] = []
            for id in commitIDs {
                s.reset()
                s.bind(.text(repository), .text(id))
                while try s.step() { out.append((s.text(0), RunOutput(uri: s.text(1), repository: repository, commitID: s.text(2), path: s.text(3)))) }
            }
            return out
        }
    }

    /// The runs that read `commitID` of `repository` (an input pinned to it).
    public func runsReading(repository: String, commitID: String) throws -> [String] {
        try read { c in
            let s = try c.statement("SELECT DISTINCT run_id FROM lineage_inputs WHERE repository = ? AND commit_id = ?")
            s.bind(.text(repository), .text(commitID))
            var out: [String] = []
            while try s.step() { out.append(s.text(0)) }
            return out
        }
    }

    /// Pinned commits of a repository in commit order, after `after`, each with its runs.
    public func lineagePins(repository: String, after: String, limit: Int) throws -> [(commitID: String, runIDs: [String])] {
        try read { c in
            let s = try c.statement("""
                SELECT commit_id, group_concat(DISTINCT run_id) FROM lineage_inputs
                WHERE repository = ? AND commit_id > ? GROUP BY commit_id ORDER BY commit_id LIMIT ?
                """)
            s.bind(.text(repository), .text(after), .int(Int64(limit)))
            return try collect(s, limit: limit) { ($0.text(0), $0.text(1).split(separator: ",").map(String.init).sorted()) }
        }
    }

    // MARK: Rows

    private func insertOutputs(_ c: SQLiteConnection, _ runID: String, from start: Int, _ outputs: [RunOutput]) throws {
        let s = try c.statement("INSERT INTO lineage_outputs (run_id, position, uri, repository, commit_id, path) VALUES (?, ?, ?, ?, ?, ?)")
        for (i, o) in outputs.enumerated() {
            s.reset()
            try s.bind(.text(runID), .int(Int64(start + i)), .text(o.uri), Self.optional(o.repository), Self.optional(o.commitID),
                       .text(o.path)).run()
        }
    }

    private func outputCount(_ c: SQLiteConnection, _ runID: String) throws -> Int {
        let s = try c.statement("SELECT count(*) FROM lineage_outputs WHERE run_id = ?")
        s.bind(.text(runID))
        _ = try s.step()
        return Int(s.int(0))
    }

    private func loadRuns(_ c: SQLiteConnection, ids: [String]) throws -> [LineageRun] {
        let runs = try c.statement("SELECT name, status, started_ms, ended_ms, external_ids, params, metrics FROM lineage_runs WHERE id = ?")
        let inputs = try c.statement("SELECT repository, ref, commit_id, path FROM lineage_inputs WHERE run_id = ? ORDER BY position")
        let outputs = try c.statement("SELECT uri, repository, commit_id, path FROM lineage_outputs WHERE run_id = ? ORDER BY position")
        var out: [LineageRun] = []
        for id in ids {
            runs.reset()
            runs.bind(.text(id))
            guard try runs.step() else { continue }
            var run = LineageRun(id: id, name: runs.text(0), status: LineageRun.Status(rawValue: runs.text(1)) ?? .failed,
                                 startedAt: Self.date(millis: runs.int(2)), endedAt: runs.isNull(3) ? nil : Self.date(millis: runs.int(3)),
                                 externalIDs: Self.decode(runs.text(4)) ?? [:], params: Self.decode(runs.text(5)) ?? [:],
                                 metrics: Self.decode(runs.text(6)) ?? [:])
            inputs.reset()
            inputs.bind(.text(id))
            while try inputs.step() {
                let (repo, ref, commit, path) = (inputs.text(0), inputs.text(1), inputs.text(2), inputs.text(3))
                run.inputs.append(PinnedInput(uri: "lakefs://\(repo)/\(ref)/\(path)", repository: repo, ref: ref, commitID: commit, path: path))
            }
            outputs.reset()
            outputs.bind(.text(id))
            while try outputs.step() {
                run.outputs.append(RunOutput(uri: outputs.text(0), repository: outputs.isNull(1) ? nil : outputs.text(1),
                                             commitID: outputs.isNull(2) ? nil : outputs.text(2), path: outputs.text(3)))
            }
            out.append(run)
        }
        return out
    }

    private static func json<T: Encodable>(_ v: T) -> String {
        let e = JSONEncoder()
        e.outputFormatting = .sortedKeys
        return String(decoding: (try? e.encode(v)) ?? Data("{}".utf8), as: UTF8.self)
    }
    private static func decode<T: Decodable>(_ s: String) -> T? { try? JSONDecoder().decode(T.self, from: Data(s.utf8)) }
}
