import CLinuxShims
import Crypto
import Foundation
import Synchronization
import TarnCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Serves `local://` namespaces from directories under `root`. An upload of up to 64 KiB is
/// appended to a pack file shared with other small objects (`PackFiles`); a bigger one streams
/// into a `TemporaryFile`, is fsynced, and is linked as `<namespace>/data/<xx>/<uuid>`. Either
/// way the address is fresh every time, so bytes are never overwritten and branches can share
/// them. MD5 is computed while the bytes flow. Leftover temporary files (a crash mid-upload)
/// are removed when the store opens.
///
/// Paths from clients never leave `root`: namespaces and addresses are checked segment by
/// segment (`LocalPaths`), and a namespace directory that resolves (through a symlink)
/// outside `root` is refused.
public final class LocalBlockStore: BlockStore {
    public let root: URL
    private let realRoot: String
    private let temporary: URL
    /// Directories known to exist, so an upload does not stat its way down the tree each time.
    private let madeDirectories = Mutex<Set<String>>([])
    /// Namespace directories already checked to resolve inside the root: the check costs a
    /// realpath (a syscall per path component) that every upload would otherwise repeat.
    private let checkedNamespaces = Mutex<[String: String]>([:])
    /// nil where the file system cannot punch holes, or when packing is turned off.
    private let packs: PackFiles?
    /// Packs open for reading, shared by readers.
    private let openPacks = OpenPacks()

    /// `packSmallObjects: false` keeps one file per object whatever the file system.
    public init(root: URL, packSmallObjects: Bool = true) throws {
        self.root = root
        temporary = root.appendingPathComponent(".tmp", isDirectory: true)
        let fm = FileManager.default
        try fm.createDirectory(at: root, withIntermediateDirectories: true)
        if fm.fileExists(atPath: temporary.path) { try fm.removeItem(at: temporary) }
        try fm.createDirectory(at: temporary, withIntermediateDirectories: true)
        realRoot = Self.realPath(root.path) ?? root.path
        packs = packSmallObjects && PackFiles.supported(in: temporary.path) ? PackFiles() : nil
    }

    /// Whether small uploads go into pack files.
    public var packsSmallObjects: Bool { packs != nil }

    private func ensureDirectory(_ dir: String) throws {
        if madeDirectories.withLock({ $0.contains(dir) }) { return }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        madeDirectories.withLock { _ = $0.insert(dir) }
    }

    static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    /// The namespace's directory, created if needed, after checking it stays under the root.
    /// The namespace's directory as a path string: per request, `URL` path operations cost
    /// more than the rest of a small object's I/O.
    private func directory(for namespace: String, create: Bool) throws -> String {
        if let known = checkedNamespaces.withLock({ $0[namespace] }) { return known }
        let dir = try checkedDirectory(for: namespace, create: create).path
        // Remember only directories that exist, so a later `create: false` still sees them.
        if create || FileManager.default.fileExists(atPath: dir) {
            checkedNamespaces.withLock { $0[namespace] = dir }
        }
        return dir
    }

    private func checkedDirectory(for namespace: String, create: Bool) throws -> URL {
        let relative = try LocalPaths.namespaceDirectory(namespace)
        let dir = root.appendingPathComponent(relative, isDirectory: true)
        if create { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }
        if let real = Self.realPath(dir.path), !(real == realRoot || real.hasPrefix(realRoot + "/")) {
            throw BlockStoreError.invalidPath(namespace)
        }
        return dir
    }

    /// The file of an address. The namespace directory was checked to resolve inside the root
    /// and the address is relative without `..`; the directories below a namespace are made by
    /// this store, and files are opened with O_NOFOLLOW, so no realpath here: on every read it
    /// cost a syscall per path component (7 % of a small GET's CPU).
    private func file(namespace: String, address: String) throws -> String {
        try LocalPaths.checkRelative(address, original: address)
        return try directory(for: namespace, create: false) + "/" + address
    }

    /// A fresh address in a namespace: its directory (made if needed) and the file's path.
    private func freshAddress(namespace: String) throws -> (id: String, address: String, directory: String, path: String) {
        let id = UUID().uuidString.lowercased()
        let address = "data/\(id.prefix(2))/\(id)"
        let directory = try directory(for: namespace, create: true) + "/data/\(id.prefix(2))"
        try ensureDirectory(directory)
        return (id, address, directory, directory + "/" + id)
    }

    public func validate(namespace: String) throws {
        _ = try LocalPaths.namespaceDirectory(namespace)
    }

    /// Nothing to check beyond the form: the directory is made on the first put.
    public func claim(namespace: String, repository: String) throws {
        try validate(namespace: namespace)
    }

    public func put<Body: AsyncSequence>(namespace: String, body: Body, size: Int64? = nil) async throws -> StoredObject
        where Body.Element: Collection, Body.Element.Element == UInt8 {
        var rest: Body.AsyncIterator? = body.makeAsyncIterator()
        var held: [UInt8] = []
        if let packs, size.map({ $0 > 0 && $0 <= Int64(PackFiles.objectLimit) }) ?? true {
            let directory = try directory(for: namespace, create: true)
            // Hold the body until it ends or outgrows a pack's objects.
            do {
                while held.count <= PackFiles.objectLimit {
                    guard let chunk = try await rest?.next() else { rest = nil; break }
                    held.append(contentsOf: chunk)
                }
            } catch {
                throw Self.uploadFailure(error)
            }
            if rest == nil && !held.isEmpty {
                let address = try await packs.append(held, namespaceDirectory: directory)
                let md5 = Insecure.MD5.hash(data: held)
                return StoredObject(physicalAddress: address.description, size: Int64(held.count), md5: ContentHash.hex(md5))
            }
        }
        return try await putFile(namespace: namespace, first: held, rest: &rest)
    }

    /// Whether `putNow` takes a body of `length` bytes.
    public func storesNow(length: Int) -> Bool {
        packs != nil && length > 0 && length <= PackFiles.objectLimit
    }

    /// A small body received whole (`storesNow(length:)`), stored without suspending: it is
    /// in a pack's page cache when this returns, and `durable` is called, on the flusher's
    /// thread, once it is on disk.
    public func putNow(namespace: String, bytes: UnsafeRawBufferPointer,
                       durable: @escaping @Sendable (Result<StoredObject, BlockStoreError>) -> Void) throws {
        guard let packs, storesNow(length: bytes.count) else { preconditionFailure("putNow of \(bytes.count) bytes: check storesNow first") }
        let md5 = ContentHash.hex(Insecure.MD5.hash(data: bytes))
        let size = Int64(bytes.count)
        try packs.appendNow(bytes, namespaceDirectory: try directory(for: namespace, create: true)) { result in
            durable(result.map { StoredObject(physicalAddress: $0.description, size: size, md5: md5) })
        }
    }

    /// An upload into a file of its own: `first` (bytes already received), then what is left of
    /// the body, if anything.
    private func putFile<Chunks: AsyncIteratorProtocol>(namespace: String, first: [UInt8], rest: inout Chunks?) async throws -> StoredObject
        where Chunks.Element: Collection, Chunks.Element.Element == UInt8 {
        let (id, address, directory, target) = try freshAddress(namespace: namespace)
        let file = try TemporaryFile(in: directory, fallback: temporary.appendingPathComponent(id).path)
        var md5 = Insecure.MD5()
        var size = Int64(first.count)
        var writer = PipelinedWriter(fd: file.fd)
        first.withUnsafeBytes { md5.update(bufferPointer: $0); writer.append($0) }
        do {
            while let chunk = try await rest?.next() {
                let handled: Void? = chunk.withContiguousStorageIfAvailable { buf in
                    let raw = UnsafeRawBufferPointer(buf)
                    md5.update(bufferPointer: raw)
                    writer.append(raw)
                }
                if handled == nil {
                    let copy = Array(chunk)
                    copy.withUnsafeBytes { md5.update(bufferPointer: $0); writer.append($0) }
                }
                size += Int64(chunk.count)
                try await writer.writeFullBatch()
            }
            try await writer.finish()
        } catch {
            await writer.abandon()
            file.discard()
            throw Self.uploadFailure(error)
        }
        // fsync and link block for milliseconds: off the cooperative threads.
        try await BlockingPool.run { try file.publish(as: target) }
        let digest = ContentHash.hex(md5.finalize()) // not String(format:) per byte: 5 % of a small upload
        return StoredObject(physicalAddress: address, size: size, md5: digest)
    }

    /// What an upload throws when its body failed: a store error or a deliberate rejection as
    /// it is, anything else as an incomplete body.
    private static func uploadFailure(_ error: any Error) -> any Error {
        if error is BlockStoreError || error is any BodyRejection { return error }
        return BlockStoreError.incompleteBody(String(describing: error))
    }

    public func compose(namespace: String, parts: [String]) async throws -> StoredObject {
        let sources = try parts.map { try source(namespace: namespace, address: $0) }
        let (id, address, directory, target) = try freshAddress(namespace: namespace)
        let fallback = temporary.appendingPathComponent(id).path
        // Copying blocks on the disk: on the pool.
        let size = try await BlockingPool.run { () throws -> Int64 in
            let file = try TemporaryFile(in: directory, fallback: fallback)
            var total: Int64 = 0
            do {
                for source in sources {
                    let fd = try source.openFile()
                    defer { close(fd) }
                    total += try Self.append(fd, from: source.offset, length: source.length, to: file.fd, at: total)
                }
            } catch {
                file.discard()
                throw error
            }
            try file.publish(as: target)
            return total
        }
        return StoredObject(physicalAddress: address, size: size, md5: "")
    }

    /// Copies `length` bytes of `src` from `from` (to its end when nil) to `fd` at `offset`;
    /// returns the bytes copied. copy_file_range keeps the bytes in the kernel (and shares
    /// extents where the file system can); where it is unavailable they go through a buffer.
    private static func append(_ src: Int32, from: Int64, length: Int64?, to fd: Int32, at offset: Int64) throws -> Int64 {
        let end = length.map { from + $0 } ?? Int64.max
        var inOffset = from, outOffset = offset
        while inOffset < end {
            let n = tarn_copy_file_range(src, &inOffset, fd, &outOffset, min(1 << 30, end - inOffset))
            if n > 0 { continue }
            if n == 0 { return inOffset - from }
            if errno == EINTR { continue }
            guard [ENOSYS, EXDEV, EINVAL, EOPNOTSUPP].contains(errno) else { throw BlockStoreError.io("copy_file_range failed: errno \(errno)") }
            break
        }
        var buffer = [UInt8](repeating: 0, count: 4 << 20)
        while inOffset < end {
            let want = Int(min(Int64(buffer.count), end - inOffset))
            let r = buffer.withUnsafeMutableBytes { pread(src, $0.baseAddress!, want, off_t(inOffset)) }
            if r < 0 { if errno == EINTR { continue }; throw BlockStoreError.io("read failed: errno \(errno)") }
            if r == 0 { break }
            try buffer.withUnsafeBytes { try writeRaw(fd, UnsafeRawBufferPointer(rebasing: $0[..<r]), at: offset + inOffset - from) }
            inOffset += Int64(r)
        }
        return inOffset - from
    }

    /// Writes all of `buf` to `fd` at `offset`.
    static func writeRaw(_ fd: Int32, _ buf: UnsafeRawBufferPointer, at offset: Int64) throws {
        let failed = pwriteAll(fd, buf, at: offset)
        guard failed == 0 else { throw BlockStoreError.io("write failed: errno \(failed)") }
    }

    /// Writes all of `buf` to `fd` at `offset`, retrying interrupted and short writes: 0, or
    /// the errno of the write that failed.
    static func pwriteAll(_ fd: Int32, _ buf: UnsafeRawBufferPointer, at offset: Int64) -> Int32 {
        var done = 0
        while done < buf.count {
            let n = pwrite(fd, buf.baseAddress! + done, buf.count - done, off_t(offset + Int64(done)))
            if n >= 0 { done += n; continue }
            if errno != EINTR { return errno }
        }
        return 0
    }

    /// An object's bytes on disk: a whole file, or a range of a pack.
    private struct Source {
        var path: String
        var address: String
        /// Where the object starts in the file, and its length (nil: the rest of the file).
        var offset: Int64 = 0
        var length: Int64?

        /// Opens the file; a packed object whose blocks were punched out is not found.
        func openFile(_ flags: Int32 = O_RDONLY) throws -> Int32 {
            let fd = try openPath(flags)
            do { try checkPresent(fd) } catch { close(fd); throw error }
            return fd
        }

        func openPath(_ flags: Int32 = O_RDONLY) throws -> Int32 {
            let fd = open(path, flags | O_CLOEXEC | O_NOFOLLOW)
            guard fd >= 0 else {
                switch errno {
                case ENOENT: throw BlockStoreError.notFound(address)
                case ELOOP: throw BlockStoreError.invalidPath(address) // a symlink: never followed
                default: throw BlockStoreError.io("open failed: errno \(errno)")
                }
            }
            return fd
        }

        /// A packed object must still have its first byte: SEEK_DATA finds the next allocated
        /// byte, and one past the object's end (or ENXIO, no data up to the end of the pack)
        /// means it was deleted.
        func checkPresent(_ fd: Int32) throws {
            guard let length else { return }
            let data = tarn_seek_data(fd, offset)
            guard data >= 0, data < offset + length else { throw BlockStoreError.notFound(address) }
        }
    }

    private func source(namespace: String, address: String) throws -> Source {
        if let packed = try PackAddress(parsing: address) {
            return Source(path: try directory(for: namespace, create: false) + "/" + packed.pack, address: address,
                          offset: packed.offset, length: packed.length)
        }
        return Source(path: try file(namespace: namespace, address: address), address: address)
    }

    public func get(namespace: String, address: String, range: ClosedRange<Int64>?, knownSize: Int64? = nil) throws -> ObjectReader {
        let source = try source(namespace: namespace, address: address)
        let file: OpenFile
        let size: Int64
        if let length = source.length {
            file = try openPacks.file(at: source.path) { try source.openPath() }
            try source.checkPresent(file.fd)
            size = length
        } else {
            file = OpenFile(fd: try source.openFile())
            var st = stat()
            guard fstat(file.fd, &st) == 0 else { throw BlockStoreError.io("stat failed: errno \(errno)") }
            size = Int64(st.st_size)
        }
        guard let range else { return ObjectReader(file: file, start: source.offset, length: size, objectSize: size) }
        guard range.lowerBound >= 0, range.lowerBound < size else { throw BlockStoreError.invalidRange(size: size) }
        let last = min(range.upperBound, size - 1)
        return ObjectReader(file: file, start: source.offset + range.lowerBound, length: last - range.lowerBound + 1, objectSize: size)
    }

    public func size(namespace: String, address: String) throws -> Int64 {
        let source = try source(namespace: namespace, address: address)
        if let length = source.length {
            close(try source.openFile())
            return length
        }
        var st = stat()
        guard lstat(source.path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { throw BlockStoreError.notFound(address) }
        return Int64(st.st_size)
    }

    /// Unlinks an object's file, or punches a packed object's blocks out of its pack.
    public func delete(namespace: String, address: String) throws {
        let source = try source(namespace: namespace, address: address)
        guard let length = source.length else {
            guard unlink(source.path) == 0 else {
                throw errno == ENOENT ? BlockStoreError.notFound(address) : BlockStoreError.io("unlink failed: errno \(errno)")
            }
            return
        }
        let fd = try source.openFile(O_WRONLY)
        defer { close(fd) }
        // Whole blocks, up to where the next object starts.
        guard tarn_punch_hole(fd, source.offset, PackFiles.aligned(length)) == 0 else {
            throw BlockStoreError.io("punching \(address) out of its pack failed: errno \(errno)")
        }
    }
}
