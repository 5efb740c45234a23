import Foundation
import TarnBlock
import TarnCore
import TarnLineage
import TarnMetadata

/// The lake as the wire layers see it: the versioning engine for metadata and the block
/// stores for bytes, composed into the use cases that need both (an upload is bytes to a
/// fresh address, then one staging write). The REST API and the S3 gateway talk to this.
public final class Catalog: Sendable {
    public let engine: VersioningEngine
    public let metadata: SQLiteStore
    public let blocks: BlockStores
    /// Zero-copy imports running or recently ended (`Import.swift`).
    let imports = ImportRegistry()
    /// Runs the actions events trigger (`Hooks.swift`); nil runs none.
    public let hooks: (any HookRunner)?
    /// Runs, pinned inputs, outputs, provenance and impact.
    public let lineage: Lineage

    /// Everything under one data directory: `tarn.sqlite` (+ `-trees`) and `objects/`, the root
    /// of the `local://` namespaces.
    public convenience init(dataDirectory: URL) throws {
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        let store = try SQLiteStore(path: dataDirectory.appendingPathComponent("tarn.sqlite").path)
        try self.init(metadata: store, blocks: BlockStores(local: LocalBlockStore(root: dataDirectory.appendingPathComponent("objects"))))
    }

    /// `openLineage`, when given, gets every run start and finish as an OpenLineage event.
    public init(metadata: SQLiteStore, blocks: BlockStores, hooks: (any HookRunner)? = nil, openLineage: OpenLineagePublisher? = nil) {
        self.metadata = metadata
        self.hooks = hooks
        let engine = VersioningEngine(store: metadata)
        self.engine = engine
        self.lineage = Lineage(engine: engine, store: metadata, onEvent: { run, type in openLineage?.publish(OpenLineage.event(run, type)) })
        self.blocks = blocks
    }

    /// Creates a repository once the block store has accepted its storage namespace: well
    /// formed, not inside (or around) another repository's, reachable and writable.
    public func createRepository(name: String, storageNamespace: String, defaultBranch: String) async throws -> Repository {
        try blocks.validate(namespace: storageNamespace)
        try forEachRepository { other in
            if Self.overlap(other.storageNamespace, storageNamespace) && other.name != name {
                throw BlockStoreError.namespaceRefused("\(storageNamespace) overlaps the storage namespace of repository \(other.name) (\(other.storageNamespace))")
            }
        }
        if (try? engine.repository(name)) == nil {
            try await blocks.claim(namespace: storageNamespace, repository: name)
        }
        return try engine.createRepository(name: name, storageNamespace: storageNamespace, defaultBranch: defaultBranch)
    }

    /// Calls `body` with every repository, a page at a time.
    func forEachRepository(_ body: (Repository) throws -> Void) throws {
        var after = ""
        while true {
            let page = try engine.listRepositories(after: after, amount: 1000)
            try page.items.forEach(body)
            guard page.hasMore, let last = page.items.last else { return }
            after = last.name
        }
    }

    /// Whether one namespace is the other or contains it (compared by path segments).
    static func overlap(_ a: String, _ b: String) -> Bool {
        func trimmed(_ s: String) -> String { var s = s; while s.hasSuffix("/") { s.removeLast() }; return s + "/" }
        let x = trimmed(a), y = trimmed(b)
        return x.hasPrefix(y) || y.hasPrefix(x)
    }

    /// Streams `body` into the repository's storage namespace and stages the object on the
    /// branch. Nothing is staged unless every byte was stored; if staging fails, the bytes are
    /// deleted again. Returns the staged entry with the repository it was looked up in, so the
    /// caller can report the full physical address without a second lookup.
    public func upload<Body: AsyncSequence>(repository: String, branch: String, path: String, body: Body, size: Int64? = nil,
                                            contentType: String?, metadata: [String: String]) async throws -> (entry: Entry, repository: Repository)
        where Body.Element: Collection, Body.Element.Element == UInt8 {
        try await upload(repository: repository, branch: branch, path: path, body: body, size: size, contentType: contentType) { metadata }
    }

    /// An upload whose metadata is known only once the body was stored (a checksum computed as
    /// the bytes streamed): `metadata` is called then.
    public func upload<Body: AsyncSequence>(repository: String, branch: String, path: String, body: Body, size: Int64? = nil, contentType: String?,
                                            metadata: () -> [String: String]) async throws -> (entry: Entry, repository: Repository)
        where Body.Element: Collection, Body.Element.Element == UInt8 {
        guard !path.isEmpty else { throw EngineError.invalidArgument("empty path") }
        CatalogMetrics.activeUploads.increment()
        defer { CatalogMetrics.activeUploads.decrement() }
        let repo = try engine.repository(repository)
        _ = try engine.branch(repository: repository, name: branch)
        let stored = try await blocks.put(namespace: repo.storageNamespace, body: body, size: size)
        do {
            return (try stage(stored, repository: repository, branch: branch, path: path, contentType: contentType, metadata: metadata()), repo)
        } catch {
            try? await blocks.delete(namespace: repo.storageNamespace, address: stored.physicalAddress)
            throw error
        }
    }

    /// Whether `uploadNow` takes a body of `length` bytes in this repository.
    public func uploadsNow(length: Int, in repository: Repository) -> Bool {
        blocks.storesNow(namespace: repository.storageNamespace, length: length)
    }

    /// The first half of an upload whose body is already in memory, for a caller that must not
    /// suspend (an event loop; only where `uploadsNow` says so): the bytes are written before
    /// this returns, and `durable` is called on another thread once they are on disk. The
    /// caller then stages them with `stageUploaded`. It counts as an active upload until
    /// `durable` is called.
    public func uploadNow(_ bytes: UnsafeRawBufferPointer, in repository: Repository,
                          durable: @escaping @Sendable (Result<StoredObject, BlockStoreError>) -> Void) throws {
        CatalogMetrics.activeUploads.increment()
        do {
            try blocks.putNow(namespace: repository.storageNamespace, bytes: bytes) { result in
                CatalogMetrics.activeUploads.decrement()
                durable(result)
            }
        } catch {
            CatalogMetrics.activeUploads.decrement()
            throw error
        }
    }

    /// The second half of `uploadNow`: stages the stored bytes on the branch. When this throws,
    /// the bytes are left for the caller to retry or discard (`discard`).
    public func stageUploaded(_ stored: StoredObject, repository: Repository, branch: String, path: String,
                              contentType: String?, metadata: [String: String]) throws -> Entry {
        guard !path.isEmpty else { throw EngineError.invalidArgument("empty path") }
        return try stage(stored, repository: repository.name, branch: branch, path: path, contentType: contentType, metadata: metadata)
    }

    /// Deletes bytes an upload stored and did not stage.
    public func discard(_ stored: StoredObject, in repository: Repository) async {
        try? await blocks.delete(namespace: repository.storageNamespace, address: stored.physicalAddress)
    }

    private func stage(_ stored: StoredObject, repository: String, branch: String, path: String,
                       contentType: String?, metadata: [String: String]) throws -> Entry {
        let entry = Entry(path: path, physicalAddress: stored.physicalAddress, size: stored.size, checksum: stored.md5,
                          contentType: contentType ?? "application/octet-stream", metadata: metadata,
                          mtime: Self.uploadTime())
        try engine.putObject(repository: repository, branch: branch, entry: entry)
        CatalogMetrics.objectsStaged.increment()
        CatalogMetrics.bytesStaged.increment(by: Int(stored.size))
        return entry
    }

    /// Runs an engine operation whose cost grows with the data (commit, merge, diff, log,
    /// revert, reset, repository delete) on `BlockingPool`, so that it never holds one of the
    /// two cooperative threads for seconds. Point operations stay inline: the hop costs more.
    public func background<T: Sendable>(_ body: @escaping @Sendable (VersioningEngine) throws -> T) async throws -> T {
        let engine = self.engine
        return try await BlockingPool.run { try body(engine) }
    }

    /// Copies an object to a branch. Within one storage namespace the copy shares the source's
    /// bytes (a new entry, no I/O); across namespaces the bytes are streamed into the
    /// destination's. `metadata`/`contentType` replace the source's when given.
    public func copyObject(from source: (repository: String, ref: String, path: String),
                           to destination: (repository: String, branch: String, path: String),
                           metadata: [String: String]? = nil, contentType: String? = nil) async throws -> Entry {
        let sourceEntry = try engine.getObject(repository: source.repository, ref: source.ref, path: source.path)
        let sourceRepo = try engine.repository(source.repository)
        let destRepo = try engine.repository(destination.repository)
        _ = try engine.branch(repository: destination.repository, name: destination.branch)
        var entry = sourceEntry
        entry.path = destination.path
        entry.mtime = Self.uploadTime()
        if let metadata { entry.metadata = metadata }
        if let contentType { entry.contentType = contentType }
        if sourceRepo.storageNamespace != destRepo.storageNamespace {
            let reader = try await blocks.get(namespace: sourceRepo.storageNamespace, address: sourceEntry.physicalAddress, range: nil,
                                              knownSize: sourceEntry.size)
            // As NIO buffers: an S3 source's chunks go to the destination as curl filled them.
            let stored = try await blocks.put(namespace: destRepo.storageNamespace, body: reader.byteBuffers.map(\.readableBytesView),
                                              size: sourceEntry.size)
            entry.physicalAddress = stored.physicalAddress
            do {
                try engine.putObject(repository: destination.repository, branch: destination.branch, entry: entry)
            } catch {
                try? await blocks.delete(namespace: destRepo.storageNamespace, address: stored.physicalAddress)
                throw error
            }
            return entry
        }
        try engine.putObject(repository: destination.repository, branch: destination.branch, entry: entry)
        return entry
    }

    /// An upload's modification time, in whole seconds rounded up: never earlier than the moment
    /// the bytes were complete, so sync tools comparing a local file's mtime (sub-second) with
    /// the object's do not see the object as older than the file it came from.
    static func uploadTime() -> Int64 { Int64(Date().timeIntervalSince1970.rounded(.up)) }

    /// A reader over the bytes of an entry the caller has already looked up (or a range of them).
    public func open(_ entry: Entry, in repository: String, range: ClosedRange<Int64>?) async throws -> ObjectReader {
        try await open(entry, in: try engine.repository(repository), range: range)
    }

    /// As `open`, with the repository already read.
    public func open(_ entry: Entry, in repository: Repository, range: ClosedRange<Int64>?) async throws -> ObjectReader {
        try await blocks.get(namespace: repository.storageNamespace, address: entry.physicalAddress, range: range, knownSize: entry.size)
    }

    /// As `open`, without suspending: nil when the bytes are not on the local store.
    public func openLocal(_ entry: Entry, in repository: Repository, range: ClosedRange<Int64>?) throws -> ObjectReader? {
        try blocks.getLocal(namespace: repository.storageNamespace, address: entry.physicalAddress, range: range, knownSize: entry.size)
    }

    /// A read of at most `limit` bytes of an entry kept in S3, to be sent from an event loop;
    /// nil when its bytes are local or the read is longer.
    public func prepareRemoteRead(_ entry: Entry, in repository: Repository, range: ClosedRange<Int64>?, limit: Int64) -> RemoteRead? {
        blocks.prepareRemoteRead(namespace: repository.storageNamespace, address: entry.physicalAddress, range: range, size: entry.size, limit: limit)
    }

    /// A long read of an entry kept in S3 behind a plain-HTTP endpoint, to be relayed from the
    /// backend's connection to the client's; nil otherwise.
    public func prepareRemoteRelay(_ entry: Entry, in repository: Repository, range: ClosedRange<Int64>?) -> RemoteRelay? {
        blocks.prepareRemoteRelay(namespace: repository.storageNamespace, address: entry.physicalAddress, range: range, size: entry.size)
    }

    /// The full URI of an entry's bytes, as lakeFS reports `physical_address`.
    public func physicalURI(repository: Repository, entry: Entry) -> String {
        if entry.physicalAddress.contains("://") { return entry.physicalAddress }
        var ns = repository.storageNamespace
        while ns.hasSuffix("/") { ns.removeLast() }
        return ns + "/" + entry.physicalAddress
    }
}
