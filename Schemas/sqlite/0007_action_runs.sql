-- Action runs: what the hooks of one event did (lakeFS's actions runs), kept under the branch
-- the event concerns so CI can ask why a merge was refused. `run_id` sorts newest first.
CREATE TABLE action_runs (
    repository TEXT    NOT NULL,
    run_id     TEXT    NOT NULL,
    branch     TEXT    NOT NULL,
    commit_id  TEXT    NOT NULL,
    source_ref TEXT    NOT NULL,
    event_type TEXT    NOT NULL,
    started_ms INTEGER NOT NULL,
    ended_ms   INTEGER NOT NULL,
    passed     INTEGER NOT NULL,
    PRIMARY KEY (repository, run_id)
) WITHOUT ROWID;
CREATE INDEX action_runs_branch ON action_runs (repository, branch, run_id);
CREATE INDEX action_runs_commit ON action_runs (repository, commit_id, run_id);

-- Each hook of a run, in the order it ran, with its output (truncated by the runner).
CREATE TABLE hook_runs (
    repository  TEXT    NOT NULL,
    run_id      TEXT    NOT NULL,
    hook_run_id TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    hook_id     TEXT    NOT NULL,
    started_ms  INTEGER NOT NULL,
    ended_ms    INTEGER NOT NULL,
    passed      INTEGER NOT NULL,
    output      BLOB    NOT NULL,
    PRIMARY KEY (repository, run_id, hook_run_id)
) WITHOUT ROWID;
