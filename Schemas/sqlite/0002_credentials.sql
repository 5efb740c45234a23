-- Users and their access keys. Secrets are stored sealed (AES-GCM under the server's key),
-- never in clear.
CREATE TABLE users (
    id         TEXT    NOT NULL PRIMARY KEY,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE credentials (
    access_key_id TEXT    NOT NULL PRIMARY KEY,
    user_id       TEXT    NOT NULL,
    secret_sealed BLOB    NOT NULL,
    created_at    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX credentials_user ON credentials (user_id);
