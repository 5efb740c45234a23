import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import TarnCore

/// Object bytes between local files and a repository: streamed in 1 MiB chunks (no file is
/// held in memory), several transfers at once for folders, unchanged files skipped.
extension APIClient {
    public static let chunkSize = 1 << 20

    /// The object's stats (`path`, `size_bytes`, `checksum`, `mtime`, …).
    public func stat(_ uri: LakeFSURI) async throws(ClientError) -> JSON {
        try await call(.GET, "/repositories/\(Self.segment(uri.repository))/refs/\(Self.segment(try uri.requireRef()))/objects/stat",
                       query: [("path", uri.path ?? "")])
    }

    /// Objects under a prefix (recursively, or one level with `delimiter: "/"`).
    public func listObjects(_ uri: LakeFSURI, delimiter: String? = nil, limit: Int = .max) async throws(ClientError) -> [JSON] {
        try await list("/repositories/\(Self.segment(uri.repository))/refs/\(Self.segment(try uri.requireRef()))/objects/ls",
                       query: [("prefix", uri.path ?? ""), ("delimiter", delimiter)], limit: limit)
    }

    /// Uploads a local file to `uri` (a branch and a path); returns the object's stats.
    public func upload(file: String, to uri: LakeFSURI, contentType: String? = nil) async throws(ClientError) -> JSON {
        let size: Int64
        do { size = (try FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.int64Value ?? 0 } catch {
            throw .local("cannot read \(file): \(error.localizedDescription)")
        }
        let chunks = FileChunks(path: file)
        let body = HTTPClientRequest.Body.stream(chunks, length: .known(size))
        let r = request(.POST, "/repositories/\(Self.segment(uri.repository))/branches/\(Self.segment(try uri.requireRef("branch")))/objects",
                        query: [("path", uri.path ?? "")], body: body, contentType: contentType ?? "application/octet-stream")
        let response = try await execute(r)
        let bytes = try await collect(response)
        try Self.check(response.status, bytes)
        if let failure = chunks.failure { throw .local(failure) }
        return JSON.parse(bytes.readableBytesView) ?? .null
    }

    /// Streams an object into `file` (written to a temporary name beside it, then renamed:
    /// a cut download leaves no half file). Returns the bytes written and their MD5.
    @discardableResult
    public func download(_ uri: LakeFSURI, to file: String) async throws(ClientError) -> (bytes: Int64, md5: String) {
        let dir = (file as NSString).deletingLastPathComponent
        do { if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } } catch {
            throw .local("cannot create \(dir): \(error.localizedDescription)")
        }
        let partial = file + ".tarn-partial"
        guard FileManager.default.createFile(atPath: partial, contents: nil), let handle = FileHandle(forWritingAtPath: partial) else {
            throw .local("cannot write \(file)")
        }
        let written: (bytes: Int64, md5: String)
        do throws(ClientError) {
            written = try await download(uri, into: handle)
        } catch {
            try? handle.close()
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
        try? handle.close()
        do {
            if FileManager.default.fileExists(atPath: file) { try FileManager.default.removeItem(atPath: file) }
            try FileManager.default.moveItem(atPath: partial, toPath: file)
        } catch {
            throw .local("cannot write \(file): \(error.localizedDescription)")
        }
        return written
    }

    /// Streams an object's bytes into an open file (stdout for `fs cat`); returns how many and
    /// their MD5 (a checkout's index keeps it, so status never re-reads an unchanged file).
    @discardableResult
    public func download(_ uri: LakeFSURI, into handle: FileHandle) async throws(ClientError) -> (bytes: Int64, md5: String) {
        let r = request(.GET, "/repositories/\(Self.segment(uri.repository))/refs/\(Self.segment(try uri.requireRef()))/objects",
                        query: [("path", uri.path ?? "")])
        let response = try await execute(r)
        guard response.status.code < 300 else {
            try Self.check(response.status, try await collect(response))
            return (0, "")
        }
        var written: Int64 = 0
        var md5 = Insecure.MD5()
        do {
            for try await buffer in response.body {
                try buffer.withUnsafeReadableBytes {
                    md5.update(bufferPointer: $0)
                    try handle.write(contentsOf: $0)
                }
                written += Int64(buffer.readableBytes)
            }
        } catch {
            throw .transport("downloading \(uri): \(Self.describe(error))")
        }
        return (written, ContentHash.hex(md5.finalize()))
    }

    /// The hex MD5 of a local file (what a single-part object's checksum is), read in chunks.
    public static func md5(file: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: file) else { return nil }
        defer { try? handle.close() }
        var md5 = Insecure.MD5()
        while let data = try? handle.read(upToCount: chunkSize), !data.isEmpty { md5.update(data: data) }
        return ContentHash.hex(md5.finalize())
    }

    /// Runs `work` over `items` with at most `parallelism` in flight; the first error stops
    /// new work and is thrown once the running items end.
    public static func forEach<T: Sendable>(_ items: [T], parallelism: Int,
                                            _ work: @escaping @Sendable (T) async throws(ClientError) -> Void) async throws(ClientError) {
        let result: ClientError? = await withTaskGroup(of: ClientError?.self) { group in
            var next = 0
            var failure: ClientError?
            func start() {
                let item = items[next]
                next += 1
                group.addTask {
                    do throws(ClientError) { try await work(item); return nil } catch { return error }
                }
            }
            while next < items.count && next < max(1, parallelism) { start() }
            while let outcome = await group.next() {
                if let outcome, failure == nil { failure = outcome }
                if failure == nil && next < items.count { start() }
            }
            return failure
        }
        if let result { throw result }
    }
}

/// A local file as an async sequence of 1 MiB buffers, read as the upload asks for them.
final class FileChunks: AsyncSequence, @unchecked Sendable {
    typealias Element = ByteBuffer
    let path: String
    /// Why reading stopped early, if it did (checked after the upload).
    private(set) var failure: String?

    init(path: String) { self.path = path }

    struct AsyncIterator: AsyncIteratorProtocol {
        let owner: FileChunks
        let handle: FileHandle?

        mutating func next() async throws -> ByteBuffer? {
            guard let handle else {
                owner.failure = "cannot open \(owner.path)"
                return nil
            }
            do {
                guard let data = try handle.read(upToCount: APIClient.chunkSize), !data.isEmpty else {
                    try? handle.close()
                    return nil
                }
                return ByteBuffer(bytes: data)
            } catch {
                owner.failure = "reading \(owner.path): \(error.localizedDescription)"
                throw error
            }
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(owner: self, handle: FileHandle(forReadingAtPath: path)) }
}
