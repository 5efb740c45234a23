import CSQLite
import Foundation

/// A read-only view of a database's WAL index header (the start of its `-shm` file), which
/// SQLite rewrites with every committed transaction from any connection in any process. Two
/// equal stamps taken at different times mean nothing was committed in between: that is what
/// lets a read connection keep its snapshot from one read to the next (`SQLiteDatabase.read`).
final class WALIndex: @unchecked Sendable {
    /// The header's first copy, as six words.
    struct Stamp: Equatable {
        var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)
        static func == (a: Stamp, b: Stamp) -> Bool { a.words == b.words }
    }

    private let mapping: UnsafeRawPointer
    private static let mappedLength = 4096

    /// nil when the database has no WAL index to watch (not in WAL mode, or not opened yet);
    /// reads then run in transactions of their own.
    init?(databasePath: String) {
        let fd = open(databasePath + "-shm", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        // SQLite grows the file in 32 KiB regions: anything shorter is not initialised yet.
        guard fstat(fd, &info) == 0, info.st_size >= Self.mappedLength,
              let p = mmap(nil, Self.mappedLength, PROT_READ, MAP_SHARED, fd, 0), p != MAP_FAILED else { return nil }
        mapping = UnsafeRawPointer(p)
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: mapping), Self.mappedLength) }

    /// The header now, or nil while a commit is rewriting it.
    func stamp() -> Stamp? { read()?.stamp }

    /// The header now if every frame of the WAL has been copied back into the database file,
    /// nil otherwise or while a commit is rewriting it. A snapshot begun then reads the
    /// database file alone, and does not keep a writer from starting the WAL over; one begun
    /// on a longer WAL would keep it growing for as long as the snapshot stays open.
    func checkpointedStamp() -> Stamp? {
        guard let (stamp, last, backfilled) = read() else { return nil }
        return last == backfilled ? stamp : nil
    }

    private func read() -> (stamp: Stamp, last: UInt32, backfilled: UInt32)? {
        var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)
        var last: UInt32 = 0, backfilled: UInt32 = 0
        let agreed = withUnsafeMutableBytes(of: &words) { out in
            tarn_wal_index_header(mapping, out.baseAddress!.assumingMemoryBound(to: UInt64.self), &last, &backfilled)
        }
        return agreed == 1 ? (Stamp(words: words), last, backfilled) : nil
    }
}
