import CSQLite
import Foundation
import Synchronization

/// Copies the WAL back into the database file from a thread of its own. With SQLite's
/// automatic checkpoints, whichever commit crossed the threshold paid for the copy and its
/// fsync (tens of milliseconds); here no request does. PASSIVE checkpoints never block the
/// writer or the readers.
final class Checkpointer: Sendable {
    private let stopped = Atomic<Bool>(false)
    private let interval: Double

    init(path: String, interval: Double = 0.25) throws {
        self.interval = interval
        let conn = try SQLiteConnection(path: path, readOnly: false)
        // A connection learns the database is in WAL mode only once it has read it; until
        // then a checkpoint is a silent no-op (log size -1).
        try conn.execute("PRAGMA journal_mode=WAL")
        let thread = Thread { [self] in
            while !stopped.load(ordering: .acquiring) {
                Thread.sleep(forTimeInterval: interval)
                var log: Int32 = 0
                var done: Int32 = 0
                sqlite3_wal_checkpoint_v2(conn.handle, nil, SQLITE_CHECKPOINT_PASSIVE, &log, &done)
            }
        }
        thread.name = "tarn-sqlite-checkpoint"
        thread.start()
    }

    func stop() { stopped.store(true, ordering: .releasing) }
}
