#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A file descriptor that closes when the last reader holding it lets go.
final class OpenFile: Sendable {
    let fd: Int32

    init(fd: Int32) { self.fd = fd }

    deinit { close(fd) }
}

/// Pack files kept open for reading. A small GET reads one object out of a pack: opening the
/// pack by path (a walk of every directory on it) and closing it again cost more than the
/// `pread` itself. Packs are never unlinked or renamed (a deleted object's blocks are punched
/// out, which readers still check with `SEEK_DATA`), so a descriptor stays good for as long
/// as the store lives. Readers share a descriptor: they read with `pread`, never its offset.
final class OpenPacks: Sendable {
    private let files = Mutex<[String: OpenFile]>([:])
    /// Packs held open at most; when full, the set is dropped and refilled by the next reads
    /// (readers still holding a dropped descriptor keep it until they finish).
    private let capacity: Int

    init(capacity: Int = 256) { self.capacity = capacity }

    /// The open pack at `path`, opened with `open` when it is not held yet.
    func file(at path: String, open: () throws -> Int32) throws -> OpenFile {
        if let held = files.withLock({ $0[path] }) { return held }
        let file = OpenFile(fd: try open())
        return files.withLock { files in
            // Another thread may have opened it meanwhile: keep one, close the other.
            if let held = files[path] { return held }
            if files.count >= capacity { files.removeAll(keepingCapacity: true) }
            files[path] = file
            return file
        }
    }
}
