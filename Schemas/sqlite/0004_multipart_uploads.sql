-- S3 multipart uploads in progress: the target (repository, branch, path), what the object
-- will carry, and its parts, each already stored as its own object in the repository's
-- namespace. Completing an upload composes the parts into one object and deletes these rows.
CREATE TABLE multipart_uploads (
    id           TEXT    NOT NULL PRIMARY KEY,
    repository   TEXT    NOT NULL,
    branch       TEXT    NOT NULL,
    path         TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    metadata     TEXT    NOT NULL, -- JSON object of strings
    created_at   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX multipart_uploads_target ON multipart_uploads (repository, branch, path);

CREATE TABLE multipart_parts (
    upload_id        TEXT    NOT NULL,
    part_number      INTEGER NOT NULL,
    physical_address TEXT    NOT NULL,
    size             INTEGER NOT NULL,
    md5              TEXT    NOT NULL, -- hex
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (upload_id, part_number)
) WITHOUT ROWID;
