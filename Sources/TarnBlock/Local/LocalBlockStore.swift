import Crypto
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Serves `local://` namespaces from directories under `root`. An upload streams into a
/// `TemporaryFile`, is fsynced, and is linked as `<namespace>/data/<xx>/<uuid>`: a fresh
/// address every time, so bytes are never overwritten and branches can share them. MD5 is
/// computed while the bytes flow. Leftover temporary files (a crash mid-upload) are removed
/// when the store opens.
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
    private let checkedNamespaces = Mutex<[String: URL]>([:])

    public init(root: URL) throws {
        self.root = root
        temporary = root.appendingPathComponent(".tmp", isDirectory: true)
        let fm = FileManager.default
        try fm.createDirectory(at: root, withIntermediateDirectories: true)
        if fm.fileExists(atPath: temporary.path) { try fm.removeItem(at: temporary) }
        try fm.createDirectory(at: temporary, withIntermediateDirectories: true)
        realRoot = Self.realPath(root.path) ?? root.path
    }

    private func ensureDirectory(_ dir: URL) throws {
        if madeDirectories.withLock({ $0.contains(dir.path) }) { return }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        madeDirectories.withLock { _ = $0.insert(dir.path) }
    }

    static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    /// The namespace's directory, created if needed, after checking it stays under the root.
    private func directory(for namespace: String, create: Bool) throws -> URL {
        if let known = checkedNamespaces.withLock({ $0[namespace] }) { return known }
        let dir = try checkedDirectory(for: namespace, create: create)
        // Remember only directories that exist, so a later `create: false` still sees them.
        if create || FileManager.default.fileExists(atPath: dir.path) {
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

    private func file(namespace: String, address: String) throws -> URL {
        try LocalPaths.checkRelative(address, original: address)
        let url = try directory(for: namespace, create: false).appendingPathComponent(address)
        if let real = Self.realPath(url.path), !real.hasPrefix(realRoot + "/") {
            throw BlockStoreError.invalidPath(address)
        }
        return url
    }

    public func validate(namespace: String) throws {
        _ = try LocalPaths.namespaceDirectory(namespace)
    }

    public func put<Body: AsyncSequence>(namespace: String, body: Body) async throws -> StoredObject
        where Body.Element: Collection, Body.Element.Element == UInt8 {
        let id = UUID().uuidString.lowercased()
        let address = "data/\(id.prefix(2))/\(id)"
        let target = try directory(for: namespace, create: true).appendingPathComponent(address)
        try ensureDirectory(target.deletingLastPathComponent())
        let file = try TemporaryFile(in: target.deletingLastPathComponent(), fallback: temporary.appendingPathComponent(id))
        var md5 = Insecure.MD5()
        var size: Int64 = 0
        do {
            for try await chunk in body {
                try Self.writeAll(file.fd, chunk, hashInto: &md5)
                size += Int64(chunk.count)
            }
        } catch {
            file.discard()
            if error is BlockStoreError || error is any BodyRejection { throw error }
            throw BlockStoreError.incompleteBody(String(describing: error))
        }
        // fsync and link block for milliseconds: off the cooperative threads.
        try await BlockingPool.run { try file.publish(as: target) }
        let digest = md5.finalize().map { String(format: "%02x", $0) }.joined()
        return StoredObject(physicalAddress: address, size: size, md5: digest)
    }

    public func compose(namespace: String, parts: [String]) async throws -> StoredObject {
        let sources = try parts.map { try file(namespace: namespace, address: $0) }
        let id = UUID().uuidString.lowercased()
        let address = "data/\(id.prefix(2))/\(id)"
        let target = try directory(for: namespace, create: true).appendingPathComponent(address)
        try ensureDirectory(target.deletingLastPathComponent())
        let temporary = self.temporary
        // Copying blocks on the disk: on the pool. (copy_file_range would keep the bytes in the
        // kernel, but Glibc's module does not export it.)
        let size = try await BlockingPool.run { () throws -> Int64 in
            let file = try TemporaryFile(in: target.deletingLastPathComponent(), fallback: temporary.appendingPathComponent(id))
            var total: Int64 = 0
            do {
                for source in sources {
                    total += try Self.append(source, to: file.fd)
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

    /// Appends a whole file to `fd`; returns the bytes copied.
    private static func append(_ source: URL, to fd: Int32) throws -> Int64 {
        let src = open(source.path, O_RDONLY | O_CLOEXEC)
        guard src >= 0 else { throw errno == ENOENT ? BlockStoreError.notFound(source.lastPathComponent) : BlockStoreError.io("open failed: errno \(errno)") }
        defer { close(src) }
        var copied: Int64 = 0
        var buffer = [UInt8](repeating: 0, count: 4 << 20)
        while true {
            let r = buffer.withUnsafeMutableBytes { read(src, $0.baseAddress!, $0.count) }
            if r < 0 { if errno == EINTR { continue }; throw BlockStoreError.io("read failed: errno \(errno)") }
            if r == 0 { return copied }
            var off = 0
            while off < r {
                let w = buffer.withUnsafeBytes { write(fd, $0.baseAddress! + off, r - off) }
                if w < 0 { if errno == EINTR { continue }; throw BlockStoreError.io("write failed: errno \(errno)") }
                off += w
            }
            copied += Int64(r)
        }
    }

    private static func writeAll<C: Collection>(_ fd: Int32, _ chunk: C, hashInto md5: inout Insecure.MD5) throws
        where C.Element == UInt8 {
        let done: Bool? = try chunk.withContiguousStorageIfAvailable { buf in
            try writeBuffer(fd, UnsafeRawBufferPointer(buf), hashInto: &md5)
            return true
        }
        if done == nil {
            let copy = Array(chunk)
            try copy.withUnsafeBytes { try writeBuffer(fd, $0, hashInto: &md5) }
        }
    }

    private static func writeBuffer(_ fd: Int32, _ buf: UnsafeRawBufferPointer, hashInto md5: inout Insecure.MD5) throws {
        md5.update(bufferPointer: buf)
        var offset = 0
        while offset < buf.count {
            let n = write(fd, buf.baseAddress! + offset, buf.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw BlockStoreError.io("write failed: errno \(errno)")
            }
            offset += n
        }
    }

    public func get(namespace: String, address: String, range: ClosedRange<Int64>?) throws -> ObjectReader {
        let url = try file(namespace: namespace, address: address)
        let fd = open(url.path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else {
            throw errno == ENOENT ? BlockStoreError.notFound(address) : BlockStoreError.io("open failed: errno \(errno)")
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            close(fd)
            throw BlockStoreError.io("stat failed: errno \(errno)")
        }
        let size = Int64(st.st_size)
        guard let range else { return ObjectReader(fd: fd, start: 0, length: size, objectSize: size) }
        guard range.lowerBound >= 0, range.lowerBound < size else {
            close(fd)
            throw BlockStoreError.invalidRange(size: size)
        }
        let last = min(range.upperBound, size - 1)
        return ObjectReader(fd: fd, start: range.lowerBound, length: last - range.lowerBound + 1, objectSize: size)
    }

    public func size(namespace: String, address: String) throws -> Int64 {
        let url = try file(namespace: namespace, address: address)
        var st = stat()
        guard lstat(url.path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { throw BlockStoreError.notFound(address) }
        return Int64(st.st_size)
    }

    public func delete(namespace: String, address: String) throws {
        let url = try file(namespace: namespace, address: address)
        guard unlink(url.path) == 0 else {
            throw errno == ENOENT ? BlockStoreError.notFound(address) : BlockStoreError.io("unlink failed: errno \(errno)")
        }
    }
}
