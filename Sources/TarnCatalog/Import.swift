import Foundation
import Synchronization
import TarnBlock
import TarnCore

/// One source of a zero-copy import (lakeFS's `ImportLocation`).
public struct ImportLocation: Sendable, Hashable {
    public enum Kind: String, Sendable {
        /// Every object whose key starts with the source's key part, each at `destination` +
        /// the rest of its key; what was under `destination` and is not imported is deleted.
        case commonPrefix = "common_prefix"
        /// One object, at the path `destination`.
        case object
    }

    public var kind: Kind
    /// `s3://bucket/key-or-prefix`.
    public var source: String
    public var destination: String

    public init(kind: Kind, source: String, destination: String) {
        self.kind = kind
        self.source = source
        self.destination = destination
    }
}

/// Where an import is: counted objects while it lists, then the commit, or why it stopped.
public struct ImportStatus: Sendable {
    public var id: String
    public var repository: String
    public var branch: String
    public var completed = false
    /// Unix seconds of the last change of this status.
    public var updatedAt: Int64
    public var ingestedObjects = 0
    public var commit: Commit?
    public var error: String?
    /// Listing is over and the commit is being made: too late to cancel.
    var committing = false
}

/// Failures of an import request, mapped to wire errors by the REST layer.
public enum ImportError: Error, Sendable, CustomStringConvertible {
    case notFound(String)
    /// Cancelling an import that has already ended, or is making its commit.
    case alreadyCompleted(String)

    public var description: String {
        switch self {
        case let .notFound(id): return "no import with id \(id)"
        case let .alreadyCompleted(id): return "import \(id) has already completed"
        }
    }
}

/// Imports in progress and recently ended, in this process's memory: an import cut by a
/// restart never committed anything, and its status is gone with it.
final class ImportRegistry: Sendable {
    private struct Running {
        var status: ImportStatus
        var task: Task<Void, Never>?
    }

    private let imports = Mutex<[String: Running]>([:])
    /// Ended imports kept for status requests; the oldest are forgotten past this.
    private let keptEnded = 1_000

    func add(_ status: ImportStatus) {
        imports.withLock { $0[status.id] = Running(status: status) }
    }

    func attach(_ task: Task<Void, Never>, to id: String) {
        imports.withLock { $0[id]?.task = task }
    }

    func status(_ id: String) -> ImportStatus? {
        imports.withLock { $0[id]?.status }
    }

    func update(_ id: String, _ change: (inout ImportStatus) -> Void) {
        imports.withLock { all in
            guard var running = all[id] else { return }
            change(&running.status)
            running.status.updatedAt = Int64(Date().timeIntervalSince1970)
            all[id] = running
        }
    }

    /// Marks the import ended (with `error`, or completed) and forgets the oldest ended ones.
    func end(_ id: String, _ change: (inout ImportStatus) -> Void) {
        update(id, change)
        imports.withLock { all in
            all[id]?.task = nil
            let ended = all.values.filter { $0.task == nil }
            guard ended.count > keptEnded else { return }
            for old in ended.sorted(by: { $0.status.updatedAt < $1.status.updatedAt }).prefix(ended.count - keptEnded) {
                all[old.status.id] = nil
            }
        }
    }

    /// Moves the import to its commit unless it was cancelled first (then throws).
    func startCommitting(_ id: String) throws {
        try imports.withLock { all in
            if all[id]?.task?.isCancelled ?? false { throw CancellationError() }
            all[id]?.status.committing = true
        }
    }

    func cancel(_ id: String) throws {
        try imports.withLock { all in
            guard let running = all[id] else { throw ImportError.notFound(id) }
            guard let task = running.task, !running.status.committing else { throw ImportError.alreadyCompleted(id) }
            task.cancel()
        }
    }
}

extension Catalog {
    /// Starts importing the objects at `locations` onto `branch` without copying their bytes:
    /// the entries keep the objects' own `s3://` addresses (Tarn never deletes those), and one
    /// commit with `options` brings them in. Returns the import's ID at once; `importStatus`
    /// follows it. Checks what it can before starting: the repository, the branch, the sources'
    /// scheme, a backend to read them through.
    public func startImport(repository: String, branch: String, locations: [ImportLocation], _ options: CommitOptions) throws -> String {
        _ = try engine.branch(repository: repository, name: branch)
        guard !locations.isEmpty else { throw EngineError.invalidArgument("an import needs at least one location") }
        for l in locations {
            guard l.source.hasPrefix("s3://"), l.source.utf8.count > 5 else {
                throw EngineError.invalidArgument("import reads s3:// locations only: \(l.source)")
            }
            if l.kind == .object, l.source.hasSuffix("/") || l.destination.isEmpty || l.destination.hasSuffix("/") {
                throw EngineError.invalidArgument("an object import names one object and one destination path: \(l.source) -> \(l.destination)")
            }
        }
        guard blocks.s3 != nil else {
            throw BlockStoreError.unsupportedNamespace("import: this server has no S3 backend to read \(locations[0].source) through")
        }
        // Tarn's own objects are not imported: entries would point at bytes Tarn manages (and
        // may one day collect) as if they were someone else's.
        try forEachRepository { repo in
            for l in locations where Self.overlap(repo.storageNamespace, l.source) {
                throw EngineError.invalidArgument("import: \(l.source) overlaps the storage namespace of repository \(repo.name) (\(repo.storageNamespace))")
            }
        }
        let id = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        imports.add(ImportStatus(id: id, repository: repository, branch: branch, updatedAt: Int64(Date().timeIntervalSince1970)))
        let task = Task.detached { [self] in
            await self.runImport(id: id, repository: repository, branch: branch, locations: locations, options)
        }
        imports.attach(task, to: id)
        return id
    }

    /// The import's status, if this server ran it recently and it belongs to `repository`/`branch`.
    public func importStatus(id: String, repository: String, branch: String) throws -> ImportStatus {
        guard let s = imports.status(id), s.repository == repository, s.branch == branch else { throw ImportError.notFound(id) }
        return s
    }

    /// Stops an import that is still listing; nothing of it is committed.
    public func cancelImport(id: String, repository: String, branch: String) throws {
        _ = try importStatus(id: id, repository: repository, branch: branch)
        try imports.cancel(id)
    }

    private func runImport(id: String, repository: String, branch: String, locations: [ImportLocation], _ options: CommitOptions) async {
        var staging: ImportStaging?
        do {
            let gathered = try await background { try $0.beginImport() }
            staging = gathered
            for location in locations {
                try await ingest(location, into: gathered) { count in self.imports.update(id) { $0.ingestedObjects += count } }
            }
            // Past this point a cancel is refused (409), so the answer to it is never wrong.
            try imports.startCommitting(id)
            let replaced = locations.filter { $0.kind == .commonPrefix }.map(\.destination)
            let commit = try await background {
                try $0.commitImport(gathered, repository: repository, branch: branch, replacing: replaced, options)
            }
            CatalogMetrics.commits.increment()
            imports.end(id) {
                $0.completed = true
                $0.commit = commit
            }
        } catch {
            if let staging { try? engine.discardImport(staging) }
            let message = error is CancellationError ? "import canceled" : "\(error)"
            imports.end(id) { $0.error = message }
        }
    }

    /// Lists one location page by page, the next page requested while the last one is
    /// written, and stages an entry per object.
    private func ingest(_ location: ImportLocation, into staging: ImportStaging, progress: @Sendable (Int) -> Void) async throws {
        let blocks = self.blocks
        let source = location.source
        let afterScheme = source.utf8.dropFirst(5)
        let keyStart = afterScheme.firstIndex(of: UInt8(ascii: "/")).map { afterScheme.index(after: $0) } ?? afterScheme.endIndex
        let keyPrefixLength = afterScheme[keyStart...].count
        var next: Task<ListedPage, any Error>? = Task { try await blocks.list(source, continuation: nil) }
        defer { next?.cancel() }
        while let pending = next {
            let page = try await withTaskCancellationHandler { try await pending.value } onCancel: { pending.cancel() }
            try Task.checkCancellation()
            next = nil
            var entries: [Entry] = []
            switch location.kind {
            case .object:
                guard let object = page.objects.first(where: { $0.uri == source }) else {
                    throw EngineError.invalidArgument("import: no object at \(source)")
                }
                entries = [Self.importedEntry(object, path: location.destination)]
            case .commonPrefix:
                if let token = page.next { next = Task { try await blocks.list(source, continuation: token) } }
                entries.reserveCapacity(page.objects.count)
                for object in page.objects {
                    let rest = String(decoding: Array(object.key.utf8).dropFirst(keyPrefixLength), as: UTF8.self)
                    let path = location.destination + rest
                    // A key equal to the prefix (a folder marker) has no path below it.
                    if !rest.isEmpty { entries.append(Self.importedEntry(object, path: path)) }
                }
            }
            if !entries.isEmpty {
                let batch = entries
                try await background { try $0.stageImported(batch, in: staging) }
                progress(batch.count)
            }
        }
    }

    static func importedEntry(_ object: ListedPage.Object, path: String) -> Entry {
        Entry(path: path, physicalAddress: object.uri, size: object.size, checksum: object.etag,
              mtime: HTTPDate.parseISO8601(object.lastModified) ?? 0)
    }
}
