import CSQLite
import Foundation
import Synchronization

/// The store's background thread. It checkpoints the WAL: with SQLite's automatic
/// checkpoints, whichever commit crossed the threshold paid for the copy and its fsync (tens
/// of milliseconds); here no request does, and PASSIVE checkpoints never block the writer or
/// the readers. It also sweeps the rows of dropped staging tokens in small batches, so that
/// clearing a committed staging area costs the commit nothing.
final class Maintenance: Sendable {
    private let stopped = Atomic<Bool>(false)
    /// Signalled once the thread has left its loop and released its connections.
    private let finished = DispatchSemaphore(value: 0)

    init(databases: [SQLiteDatabase], interval: Double = 0.25, sweep: (@Sendable () -> Void)?) throws {
        let connections = try databases.map { database in
            let conn = try SQLiteConnection(path: database.path, readOnly: false)
            // A connection learns the database is in WAL mode only once it has read it; until
            // then a checkpoint is a silent no-op (log size -1).
            try conn.execute("PRAGMA journal_mode=WAL")
            // Never make writers wait long for a truncation; it is retried on the next tick.
            sqlite3_busy_timeout(conn.handle, 20)
            return conn
        }
        let owned = Owned(connections)
        let thread = Thread { [self, owned] in
            // The thread closes its connections itself, before it signals.
            defer {
                owned.connections.removeAll()
                finished.signal()
            }
            let connections = owned.connections
            var ticks = 0
            while !stopped.load(ordering: .acquiring) {
                Thread.sleep(forTimeInterval: interval)
                for (database, conn) in zip(databases, connections) {
                    // Idle read connections would otherwise keep their snapshots, and with them
                    // the WAL, until their next read.
                    database.releaseSnapshots()
                    var log: Int32 = 0
                    var done: Int32 = 0
                    sqlite3_wal_checkpoint_v2(conn.handle, nil, SQLITE_CHECKPOINT_PASSIVE, &log, &done)
                    // Once every frame is back in the database file, reset the WAL: readers of a
                    // long WAL look pages up in it and read them from it (a cold read of a 1M
                    // tree was three times slower), and the file would keep its largest size.
                    if log > 0 && log == done {
                        sqlite3_wal_checkpoint_v2(conn.handle, nil, SQLITE_CHECKPOINT_RESTART, &log, &done)
                    }
                }
                ticks += 1
                if ticks % 4 == 0, !stopped.load(ordering: .acquiring) { sweep?() }
            }
        }
        thread.name = "tarn-sqlite-maintenance"
        thread.start()
    }

    private final class Owned: @unchecked Sendable {
        var connections: [SQLiteConnection]
        init(_ c: [SQLiteConnection]) { connections = c }
    }

    /// Stops the thread and waits until it has finished its current tick (at most one
    /// interval), so no checkpoint runs while the store closes its own connections.
    func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        finished.wait()
    }
}
