-- Lineage: runs (training, evaluation, ETL) with the commits they read, pinned when the run
-- started, and what they produced. Run IDs are time-ordered UUIDs (version 7), so key order is
-- start order. Pinned commits must outlive garbage collection until their run is deleted.
CREATE TABLE lineage_runs (
    id           TEXT    NOT NULL PRIMARY KEY,
    name         TEXT    NOT NULL,
    status       TEXT    NOT NULL, -- running | completed | failed
    started_ms   INTEGER NOT NULL,
    ended_ms     INTEGER,
    external_ids TEXT    NOT NULL, -- JSON object of strings
    params       TEXT    NOT NULL, -- JSON object of strings
    metrics      TEXT    NOT NULL  -- JSON object of numbers
) WITHOUT ROWID;
CREATE INDEX lineage_runs_name ON lineage_runs (name, id);

-- One row per input, in the order given: the ref as named and the commit it resolved to.
CREATE TABLE lineage_inputs (
    run_id     TEXT    NOT NULL,
    position   INTEGER NOT NULL,
    repository TEXT    NOT NULL,
    ref        TEXT    NOT NULL,
    commit_id  TEXT    NOT NULL,
    path       TEXT    NOT NULL,
    PRIMARY KEY (run_id, position)
) WITHOUT ROWID;
CREATE INDEX lineage_inputs_commit ON lineage_inputs (repository, commit_id, run_id);

-- Outputs: commits in Tarn (repository and commit set) or external artifacts (uri only).
CREATE TABLE lineage_outputs (
    run_id     TEXT    NOT NULL,
    position   INTEGER NOT NULL,
    uri        TEXT    NOT NULL,
    repository TEXT,
    commit_id  TEXT,
    path       TEXT    NOT NULL,
    PRIMARY KEY (run_id, position)
) WITHOUT ROWID;
CREATE INDEX lineage_outputs_commit ON lineage_outputs (repository, commit_id, run_id);
CREATE INDEX lineage_outputs_uri ON lineage_outputs (uri, run_id);
