import CSQLite
import Foundation
import Synchronization
import TarnCore

extension SQLiteConnection: @unchecked Sendable {}

/// One SQLite file in WAL mode: one writer connection behind a lock (SQLite allows one writer
/// at a time anyway) and a pool of read-only connections, which WAL lets run beside the writer
/// on their own snapshots. Automatic checkpoints are off: `Maintenance` checkpoints from a
/// thread of its own.
///
/// A read connection keeps its read transaction open from one read to the next for as long as
/// nothing is committed to the file (the WAL index header, which every commit from any
/// process rewrites, is unchanged) and for at most `snapshotLifetime`. Reads see every write
/// that committed before they started, as with a transaction per read. Only a snapshot begun
/// on a fully checkpointed WAL is kept, since one that uses WAL frames would keep writers from
/// starting the WAL over; even so, an open snapshot keeps the next checkpoint from copying,
/// so idle connections give theirs up on each maintenance tick and before an explicit
/// checkpoint.
final class SQLiteDatabase: Sendable {
    /// How one file is set up: its page size (fixed when the file is created), its sync mode,
    /// and the migrations that make its schema.
    struct Layout {
        var pageSize: Int
        var synchronous: String
        var migrations: [(version: Int, name: String, sql: [UInt8])]
    }

    let path: String
    private let writer: SQLiteConnection
    private let writeLock = NSLock()
    private let readers = Mutex<[SQLiteConnection]>([])
    /// nil when the file has no WAL index to watch: then every read has its own transaction.
    private let walIndex: WALIndex?
    /// While a checkpoint waits for readers to leave the WAL, no read keeps its snapshot.
    private let snapshotsPaused = Atomic<Bool>(false)
    /// Long enough that a busy connection begins at most a hundred transactions a second
    /// instead of thousands; short enough that a checkpoint (which waits 20 ms for readers)
    /// gets through.
    static let snapshotLifetime: UInt64 = 10_000_000

    /// Library-wide settings, made once before the first connection opens.
    private static let configured: Void = { _ = tarn_sqlite_disable_memory_statistics() }()

    init(path: String, layout: Layout) throws {
        Self.configured
        self.path = path
        let conn = try SQLiteConnection(path: path, readOnly: false)
        try conn.execute("""
            PRAGMA page_size=\(layout.pageSize); PRAGMA journal_mode=WAL; PRAGMA synchronous=\(layout.synchronous);
            PRAGMA temp_store=MEMORY; PRAGMA cache_size=-65536; PRAGMA foreign_keys=OFF; PRAGMA wal_autocheckpoint=0;
            """)
        try Self.migrate(conn, layout.migrations)
        writer = conn
        // The writer has read the file in WAL mode, so its WAL index exists now.
        walIndex = WALIndex(databasePath: path)
    }

    private static func migrate(_ conn: SQLiteConnection, _ migrations: [(version: Int, name: String, sql: [UInt8])]) throws {
        try conn.execute("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)
            """)
        for migration in migrations {
            try conn.transaction(immediate: true) {
                let s = try conn.statement("SELECT 1 FROM schema_migrations WHERE version = ?")
                s.bind(.int(Int64(migration.version)))
                if try s.step() { return }
                try conn.execute(String(decoding: migration.sql, as: UTF8.self))
                try conn.statement("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)")
                    .bind(.int(Int64(migration.version)), .text(migration.name), .int(Int64(Date().timeIntervalSince1970))).run()
            }
        }
    }

    /// Runs `body` in a write transaction (BEGIN IMMEDIATE, so a writer never fails half way
    /// on a lock upgrade).
    func write<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        writeLock.lock()
        defer { writeLock.unlock() }
        return try writer.transaction(immediate: true) { try body(writer) }
    }

    /// Runs `body` in a read transaction on a pooled read-only connection: its open snapshot
    /// when nothing has been committed since it began, a new one otherwise.
    func read<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        let conn = try readers.withLock { $0.popLast() } ?? {
            let c = try SQLiteConnection(path: path, readOnly: true)
            try c.execute("PRAGMA cache_size=-16384; PRAGMA query_only=1;")
            return c
        }()
        defer {
            // A snapshot that a commit has made stale is of no further use, and would only keep
            // the WAL from being checkpointed while the connection sits in the pool.
            if let held = conn.heldSnapshot, snapshotsPaused.load(ordering: .acquiring) || walIndex?.stamp() != held.stamp {
                conn.endSnapshot()
            }
            readers.withLock { $0.append(conn) }
        }
        // A held snapshot must not pin WAL frames: only one begun on a fully checkpointed WAL
        // is kept. While writes come in, reads have a transaction each, as before.
        let stamp = snapshotsPaused.load(ordering: .acquiring) ? nil : walIndex?.checkpointedStamp()
        return try conn.read(stamp: stamp, now: DispatchTime.now().uptimeNanoseconds, lifetime: Self.snapshotLifetime) {
            try body(conn)
        }
    }

    /// Ends the snapshots of pooled connections: those older than `snapshotLifetime` or made
    /// stale by a commit, or all of them. Connections in use end theirs when they come back.
    func releaseSnapshots(all: Bool = false) {
        let now = DispatchTime.now().uptimeNanoseconds, stamp = walIndex?.stamp()
        readers.withLock { pool in
            for conn in pool {
                guard let held = conn.heldSnapshot else { continue }
                if all || held.stamp != stamp || now &- held.began >= Self.snapshotLifetime { conn.endSnapshot() }
            }
        }
    }

    /// How many pooled connections hold a snapshot (for tests).
    var pooledSnapshots: Int { readers.withLock { $0.filter { $0.heldSnapshot != nil }.count } }

    /// Copies the whole WAL into the database file and truncates it.
    func checkpoint() throws {
        writeLock.lock()
        defer { writeLock.unlock() }
        // Truncation waits until no reader uses the WAL: none may keep a snapshot meanwhile.
        snapshotsPaused.store(true, ordering: .releasing)
        defer { snapshotsPaused.store(false, ordering: .releasing) }
        releaseSnapshots(all: true)
        var log: Int32 = 0
        var done: Int32 = 0
        let rc = sqlite3_wal_checkpoint_v2(writer.handle, nil, SQLITE_CHECKPOINT_TRUNCATE, &log, &done)
        guard rc == SQLITE_OK else { throw EngineError.storage("checkpoint failed: \(writer.errorMessage())") }
    }

    /// `PRAGMA integrity_check`: "ok" for a sound file.
    func integrityCheck() throws -> String {
        try write { c in
            let s = try c.statement("PRAGMA integrity_check")
            var lines: [String] = []
            while try s.step() { lines.append(s.text(0)) }
            return lines.joined(separator: "\n")
        }
    }

    func schemaVersions() throws -> [Int] {
        try read { c in
            let s = try c.statement("SELECT version FROM schema_migrations ORDER BY version")
            var out: [Int] = []
            while try s.step() { out.append(Int(s.int(0))) }
            return out
        }
    }
}
