-- Tarn trees file, version 1 (the store's second SQLite file, 64 KiB pages). Applied once by
-- SQLiteStore's migrator; never edit an applied migration: add the next numbered file instead.

-- Content-addressed immutable trees, shared by every repository.
CREATE TABLE ranges (
    id   TEXT NOT NULL PRIMARY KEY,
    data BLOB NOT NULL
);

CREATE TABLE metaranges (
    id   TEXT NOT NULL PRIMARY KEY,
    data BLOB NOT NULL
);
