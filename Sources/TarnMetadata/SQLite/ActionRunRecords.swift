import Foundation
import TarnCore

/// Action runs and their hook runs (`0007_action_runs.sql`): written once when a run ends,
/// read by the actions API. Times are stored in milliseconds.
extension SQLiteStore {
    public func insertActionRun(_ run: ActionRun, hooks: [HookRun]) throws {
        try write { c in
            try c.statement("""
                INSERT INTO action_runs (repository, run_id, branch, commit_id, source_ref, event_type, started_ms, ended_ms, passed)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """).bind(.text(run.repository), .text(run.id), .text(run.branch), .text(run.commitID), .text(run.sourceRef),
                          .text(run.eventType), .int(Self.millis(run.startedAt)), .int(Self.millis(run.endedAt)),
                          .int(run.passed ? 1 : 0)).run()
            let s = try c.statement("""
                INSERT INTO hook_runs (repository, run_id, hook_run_id, action, hook_id, started_ms, ended_ms, passed, output)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for h in hooks {
                s.reset()
                try s.bind(.text(run.repository), .text(run.id), .text(h.id), .text(h.action), .text(h.hookID),
                           .int(Self.millis(h.startedAt)), .int(Self.millis(h.endedAt)), .int(h.passed ? 1 : 0),
                           .blob(Array(h.output.utf8))).run()
            }
        }
    }

    /// Runs newest first, optionally only those of one branch or one commit, after the run `after`.
    public func listActionRuns(repository: String, branch: String?, commitID: String?, after: String, limit: Int) throws -> [ActionRun] {
        try read { c in
            guard try repositoryExists(c, repository) else { throw EngineError.repositoryNotFound(repository) }
            let s = try c.statement("""
                SELECT \(Self.runColumns) FROM action_runs
                WHERE repository = ? AND run_id > ? AND (?3 IS NULL OR branch = ?3) AND (?4 IS NULL OR commit_id = ?4)
                ORDER BY run_id LIMIT ?
                """)
            s.bind(.text(repository), .text(after), branch.map { .text($0) } ?? .null, commitID.map { .text($0) } ?? .null,
                   .int(Int64(limit)))
            return try collect(s, limit: limit) { Self.runRow($0, repository) }
        }
    }

    public func actionRun(repository: String, id: String) throws -> ActionRun? {
        try read { c in
            guard try repositoryExists(c, repository) else { throw EngineError.repositoryNotFound(repository) }
            let s = try c.statement("SELECT \(Self.runColumns) FROM action_runs WHERE repository = ? AND run_id = ?")
            s.bind(.text(repository), .text(id))
            return try s.step() ? Self.runRow(s, repository) : nil
        }
    }

    /// A run's hooks in the order they ran (hook run IDs are numbered), after the hook run `after`.
    public func listHookRuns(repository: String, runID: String, after: String, limit: Int) throws -> [HookRun] {
        try read { c in
            let s = try c.statement("""
                SELECT \(Self.hookColumns) FROM hook_runs
                WHERE repository = ? AND run_id = ? AND hook_run_id > ? ORDER BY hook_run_id LIMIT ?
                """)
            s.bind(.text(repository), .text(runID), .text(after), .int(Int64(limit)))
            return try collect(s, limit: limit) { Self.hookRow($0, runID) }
        }
    }

    public func hookRun(repository: String, runID: String, hookRunID: String) throws -> HookRun? {
        try read { c in
            let s = try c.statement("SELECT \(Self.hookColumns) FROM hook_runs WHERE repository = ? AND run_id = ? AND hook_run_id = ?")
            s.bind(.text(repository), .text(runID), .text(hookRunID))
            return try s.step() ? Self.hookRow(s, runID) : nil
        }
    }

    private static let hookColumns = "hook_run_id, action, hook_id, started_ms, ended_ms, passed, output"

    private static func hookRow(_ s: SQLiteStatement, _ runID: String) -> HookRun {
        HookRun(id: s.text(0), runID: runID, action: s.text(1), hookID: s.text(2), startedAt: date(millis: s.int(3)),
                endedAt: date(millis: s.int(4)), passed: s.int(5) != 0, output: String(decoding: s.blob(6), as: UTF8.self))
    }

    private static let runColumns = "run_id, branch, commit_id, source_ref, event_type, started_ms, ended_ms, passed"

    private static func runRow(_ s: SQLiteStatement, _ repository: String) -> ActionRun {
        ActionRun(id: s.text(0), repository: repository, branch: s.text(1), commitID: s.text(2), sourceRef: s.text(3),
                  eventType: s.text(4), startedAt: date(millis: s.int(5)), endedAt: date(millis: s.int(6)), passed: s.int(7) != 0)
    }
}
