import CLinuxShims
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a small object lives inside a pack file: `packs/<pack id>@<offset>+<length>`,
/// relative to its namespace like any other address. Parsing is strict (a client can name an
/// address when it stages an entry): plain decimal, an offset on the pack alignment, a length
/// of at least one byte.
struct PackAddress: Equatable, CustomStringConvertible {
    static let directory = "packs"
    static let prefix = directory + "/"
    /// The pack file, relative to the namespace directory.
    var pack: String
    var offset: Int64
    var length: Int64

    init(pack: String, offset: Int64, length: Int64) {
        self.pack = pack
        self.offset = offset
        self.length = length
    }

    /// nil when `address` is not in a pack; throws when it claims to be and is malformed.
    /// Parsed on the UTF-8 bytes: this runs on every read of a small object, and Character-wise
    /// scanning and `Int64(Substring)` took 2 % of a 4 KiB GET's CPU.
    init?(parsing address: String) throws(BlockStoreError) {
        guard address.hasPrefix(Self.prefix) else { return nil }
        let bytes = address.utf8
        guard let at = bytes.lastIndex(of: UInt8(ascii: "@")),
              let plus = bytes[at...].firstIndex(of: UInt8(ascii: "+")),
              let offset = Self.number(bytes[bytes.index(after: at)..<plus]),
              let length = Self.number(bytes[bytes.index(after: plus)...]),
              offset % PackFiles.alignment == 0, length > 0 else { throw .invalidPath(address) }
        let pack = String(address[..<at])
        try LocalPaths.checkRelative(pack, original: address)
        self.init(pack: pack, offset: offset, length: length)
    }

    private static func number(_ digits: Substring.UTF8View) -> Int64? {
        guard !digits.isEmpty, digits.count <= 18 else { return nil }
        var value: Int64 = 0
        for b in digits {
            guard b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int64(b - UInt8(ascii: "0"))
        }
        return value
    }

    var description: String { "\(pack)@\(offset)+\(length)" }
}

/// Small objects share append-only pack files instead of taking a file each. On this ext4 an
/// inode per 4 KiB object cost a third of a PUT's CPU (`find_inode_bit`, `recently_deleted`),
/// and each upload waited for an fsync of its own; here concurrent uploads append at offsets
/// reserved under a lock and wait together for one `fdatasync` (a group commit), so 32
/// uploads in flight cost one disk flush, not 32.
///
/// Objects start on 4 KiB boundaries so that deleting one can punch its blocks out of the pack
/// (`FALLOC_FL_PUNCH_HOLE`): the space comes back, and the hole is how a later read knows the
/// object is gone. Bytes are never rewritten; a pack is never appended to after the process
/// that started it ends (a crash leaves at most an unreferenced tail). Where the file system
/// cannot punch holes (`supported(in:)`), the store keeps one file per object.
final class PackFiles: Sendable {
    /// Objects up to this size are packed; bigger ones stream into files of their own. An
    /// upload is held in memory until it reaches this size, so it bounds the memory of
    /// concurrent small uploads.
    static let objectLimit = 64 << 10
    static let alignment: Int64 = 4096
    /// `length` rounded up to whole alignment blocks: the room an object takes in its pack.
    static func aligned(_ length: Int64) -> Int64 { (length + alignment - 1) / alignment * alignment }
    /// A pack takes no new objects beyond this size.
    static let packSize: Int64 = 256 << 20

    /// The pack each namespace directory appends to now.
    private let current = Mutex<[String: Pack]>([:])

    /// Appends `bytes` to the namespace's current pack (started if needed) and returns the
    /// object's address once the bytes are on disk.
    func append(_ bytes: [UInt8], namespaceDirectory: String) async throws -> PackAddress {
        try await withCheckedThrowingContinuation { (waiter: CheckedContinuation<PackAddress, Error>) in
            do {
                try bytes.withUnsafeBytes { try appendNow($0, namespaceDirectory: namespaceDirectory) { waiter.resume(with: $0) } }
            } catch {
                waiter.resume(throwing: error)
            }
        }
    }

    /// As `append`, without suspending (for an event loop): the bytes are written to the
    /// pack's page cache before it returns, and `durable` is called, on the flusher's thread,
    /// once they are on disk.
    func appendNow(_ bytes: UnsafeRawBufferPointer, namespaceDirectory: String,
                   durable: @escaping @Sendable (Result<PackAddress, BlockStoreError>) -> Void) throws {
        let (pack, offset) = try reserve(Int64(bytes.count), in: namespaceDirectory)
        try pack.write(bytes, at: offset)
        let address = PackAddress(pack: pack.relativePath, offset: offset, length: Int64(bytes.count))
        pack.whenDurable { failure in
            guard let failure else { return durable(.success(address)) }
            // An fdatasync that failed may have dropped any of the pack's dirty pages: no new
            // object goes into it.
            self.current.withLock { if $0[namespaceDirectory] === pack { $0[namespaceDirectory] = nil } }
            durable(.failure(failure))
        }
    }

    private func reserve(_ length: Int64, in directory: String) throws -> (Pack, Int64) {
        try current.withLock { packs in
            if let pack = packs[directory], let offset = try pack.reserve(length) { return (pack, offset) }
            // A new pack every 256 MiB: a rare open and directory fsync under the lock.
            let pack = try Pack(namespaceDirectory: directory)
            packs[directory] = pack
            guard let offset = try pack.reserve(length) else { throw BlockStoreError.io("a new pack refused \(length) bytes") }
            return (pack, offset)
        }
    }

    /// Whether the file system under `directory` punches 4 KiB holes that `SEEK_DATA` sees.
    static func supported(in directory: String) -> Bool {
        let path = directory + "/pack-probe-\(UUID().uuidString)"
        let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return false }
        defer { close(fd); unlink(path) }
        let block = [UInt8](repeating: 1, count: Int(alignment) * 2)
        guard block.withUnsafeBytes({ pwrite(fd, $0.baseAddress!, $0.count, 0) }) == block.count,
              tarn_punch_hole(fd, 0, alignment) == 0 else { return false }
        return tarn_seek_data(fd, 0) == alignment
    }
}

/// One open pack file: where its next object goes and who waits for its next flush.
final class Pack: Sendable {
    let fd: Int32
    /// `packs/<id>`, relative to the namespace directory.
    let relativePath: String
    private struct State {
        var end: Int64 = 0
        /// The file's size: zeros written ahead of `end` (see `reserve`).
        var zeroedEnd: Int64 = 0
        var flushing = false
        var failed: BlockStoreError?
        var waiting: [@Sendable (BlockStoreError?) -> Void] = []
    }
    private let state = Mutex(State())

    init(namespaceDirectory: String) throws {
        let directory = namespaceDirectory + "/" + PackAddress.directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let id = UUID().uuidString.lowercased()
        relativePath = PackAddress.prefix + id
        fd = open(directory + "/" + id, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw BlockStoreError.io("cannot create pack \(id): errno \(errno)") }
        // The pack's name must survive a crash as its objects will.
        let dir = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 { _ = fsync(dir); close(dir) }
    }

    deinit {
        // No writer is left: the zeros past the last object go (a crash leaves them, as it
        // leaves any unreferenced tail).
        let end = state.withLock { $0.end }
        _ = ftruncate(fd, off_t(end))
        close(fd)
    }

    /// The offset for an object of `length` bytes, or nil when the pack is full.
    ///
    /// The file is kept ahead of its objects with zeros actually written (not `fallocate`d:
    /// an unwritten extent is converted, a metadata write, when it is first written), so an
    /// object goes into blocks that are already allocated and within the file's size, and
    /// the `fdatasync` that makes it durable writes its data only. Appending instead, every
    /// flush also wrote the inode and the block map: serial 4 KiB writes with `fdatasync` ran
    /// at 1,400–2,700/s appending and 2,600–3,900/s overwriting zeros on this disk. The zeros
    /// ahead double with the pack up to 4 MiB, so a pack holding one small object has 64 KiB
    /// of them; what is left when the pack is dropped is cut off then (`deinit`).
    func reserve(_ length: Int64) throws -> Int64? {
        try state.withLock { s in
            guard s.failed == nil, s.end == 0 || s.end + length <= PackFiles.packSize else { return nil }
            let offset = s.end
            let end = s.end + PackFiles.aligned(length)
            if end > s.zeroedEnd {
                // Under the lock: no object is written past `zeroedEnd` before the zeros are.
                let ahead = min(max(s.zeroedEnd, Self.firstZeros), Self.maxZerosAhead)
                let target = max(end, s.zeroedEnd + ahead)
                try Self.writeZeros(fd, from: s.zeroedEnd, to: target)
                s.zeroedEnd = target
            }
            s.end = end
            return offset
        }
    }

    static let firstZeros: Int64 = 64 << 10
    static let maxZerosAhead: Int64 = 4 << 20
    private static let zeros = [UInt8](repeating: 0, count: 1 << 20)

    private static func writeZeros(_ fd: Int32, from start: Int64, to end: Int64) throws {
        var at = start
        while at < end {
            let n = Int(min(Int64(zeros.count), end - at))
            try zeros.withUnsafeBytes { try LocalBlockStore.writeRaw(fd, UnsafeRawBufferPointer(rebasing: $0[..<n]), at: at) }
            at += Int64(n)
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        try LocalBlockStore.writeRaw(fd, bytes, at: offset)
    }

    /// Calls `done` (nil: success) once everything written to the pack before the call is on
    /// disk. The first caller starts a flush on the blocking pool; callers that arrive during
    /// it wait for the next one, which covers all of them.
    func whenDurable(_ done: @escaping @Sendable (BlockStoreError?) -> Void) {
        let (lead, failed) = state.withLock { s -> (Bool, BlockStoreError?) in
            if let failed = s.failed { return (false, failed) }
            s.waiting.append(done)
            guard !s.flushing else { return (false, nil) }
            s.flushing = true
            return (true, nil)
        }
        if let failed { done(failed) }
        if lead { BlockingPool.submit { self.flushWhileWaited() } }
    }

    private func flushWhileWaited() {
        while true {
            let batch = state.withLock { s -> [@Sendable (BlockStoreError?) -> Void] in
                let batch = s.waiting
                s.waiting = []
                if batch.isEmpty { s.flushing = false }
                return batch
            }
            if batch.isEmpty { return }
            var rc = fdatasync(fd)
            while rc != 0 && errno == EINTR { rc = fdatasync(fd) }
            if rc == 0 {
                for waiter in batch { waiter(nil) }
            } else {
                let failure = BlockStoreError.io("pack fdatasync failed: errno \(errno)")
                let late = state.withLock { s -> [@Sendable (BlockStoreError?) -> Void] in
                    s.failed = failure
                    s.flushing = false
                    defer { s.waiting = [] }
                    return s.waiting
                }
                for waiter in batch + late { waiter(failure) }
                return
            }
        }
    }
}
