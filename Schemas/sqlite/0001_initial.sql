-- Tarn metadata, version 1. Applied once by SQLiteStore's migrator; never edit an applied
-- migration: add the next numbered file instead.
--
-- Paths and names are TEXT compared with SQLite's BINARY collation (memcmp of UTF-8), the same
-- order the engine and S3 use.

CREATE TABLE repositories (
    name              TEXT    NOT NULL PRIMARY KEY,
    storage_namespace TEXT    NOT NULL UNIQUE,
    default_branch    TEXT    NOT NULL,
    created_at        INTEGER NOT NULL
) WITHOUT ROWID;

-- Every staging area has a token; tokens are never reused. A dropped token's rows are
-- deleted later by the sweeper, off the request path, once a grace period has passed.
CREATE TABLE staging_tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    dropped_at INTEGER -- Unix seconds; NULL while the token is in use
);
CREATE INDEX staging_tokens_dropped ON staging_tokens (dropped_at) WHERE dropped_at IS NOT NULL;

CREATE TABLE branches (
    repository    TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    head_commit   TEXT    NOT NULL,
    staging_token INTEGER NOT NULL,
    -- Tokens of commits in progress, newest first, comma-separated.
    sealed_tokens TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (repository, name)
) WITHOUT ROWID;

CREATE TABLE tags (
    repository TEXT NOT NULL,
    name       TEXT NOT NULL,
    commit_id  TEXT NOT NULL,
    PRIMARY KEY (repository, name)
) WITHOUT ROWID;

CREATE TABLE commits (
    repository   TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    parents      TEXT    NOT NULL, -- comma-separated commit IDs, first parent first
    metarange_id TEXT    NOT NULL,
    message      TEXT    NOT NULL,
    committer    TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    metadata     BLOB    NOT NULL, -- ByteWriter.stringMap encoding
    generation   INTEGER NOT NULL,
    PRIMARY KEY (repository, id)
) WITHOUT ROWID;

-- Uncommitted changes: entry is EntryCoding's value encoding, NULL for a tombstone.
CREATE TABLE staging (
    token INTEGER NOT NULL,
    path  TEXT    NOT NULL,
    entry BLOB,
    PRIMARY KEY (token, path)
) WITHOUT ROWID;
