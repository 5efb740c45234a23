-- Branch protection rules: glob patterns (`*`, `?`) naming branches that accept no direct
-- writes (uploads, deletes, commits, resets); merges and reverts still land. The version
-- counts changes, so a client can update the whole list with If-Match.
CREATE TABLE branch_protection (
    repository TEXT    NOT NULL PRIMARY KEY,
    patterns   TEXT    NOT NULL, -- JSON array of strings, in the order the client gave
    version    INTEGER NOT NULL
) WITHOUT ROWID;
