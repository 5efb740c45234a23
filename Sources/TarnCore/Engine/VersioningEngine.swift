import Foundation
import Synchronization

/// The versioning engine: repositories, branches, staging, commits, refs, tags, diff, merge,
/// revert and cherry-pick over a `MetadataStore`. Synchronous and thread-safe; callers on an
/// event loop run it on a thread pool. Every operation is split by concern into the files of
/// this folder (`Repositories.swift`, `Branches.swift`, `Commits.swift`, ...).
public final class VersioningEngine: Sendable {
    public let store: any MetadataStore
    public let trees: TreeStore
    let policy: RangePolicy
    let commits: ImmutableCache<Commit>
    let clock: @Sendable () -> Int64
    /// Commits and merges on one branch queue behind each other inside this process, so they
    /// do not spend work on a compare-and-swap they would lose. Across processes the CAS in
    /// `completeCommit` still decides. Writers never take these locks.
    private let branchLocks = Mutex<[String: NSLock]>([:])
    /// Protection patterns per repository, read once and dropped when this process changes
    /// them: every staged write checks them.
    let protectionPatterns = Mutex<[String: [String]]>([:])

    public init(store: any MetadataStore, policy: RangePolicy = .standard, cacheBytes: Int = 256 << 20,
                clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }) {
        self.store = store
        self.policy = policy
        self.clock = clock
        trees = TreeStore(store: store, cacheBytes: cacheBytes)
        commits = ImmutableCache(capacity: 100_000)
    }

    // MARK: Shared helpers

    func requireRepository(_ name: String) throws -> Repository {
        guard let repo = try store.repository(name) else { throw EngineError.repositoryNotFound(name) }
        return repo
    }

    func requireBranch(_ repository: String, _ name: String) throws -> Branch {
        guard let branch = try store.branch(repository: repository, name: name) else {
            _ = try requireRepository(repository)
            throw EngineError.branchNotFound(name)
        }
        return branch
    }

    func loadCommit(_ id: String, repository: String) throws -> Commit {
        if let c = commits.value(for: repository + "/" + id) { return c }
        guard let c = try store.commit(id, repository: repository) else { throw EngineError.commitNotFound(id) }
        commits.insert(c, for: repository + "/" + id, cost: 1)
        return c
    }

    func withBranchLock<T>(_ repository: String, _ branch: String, _ body: () throws -> T) rethrows -> T {
        let lock = branchLocks.withLock { locks in
            let key = repository + "/" + branch
            if let l = locks[key] { return l }
            let l = NSLock()
            locks[key] = l
            return l
        }
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// The ID of the empty tree, stored on first use.
    func emptyMetarangeID() throws -> String {
        let (id, bytes) = TreeCoding.emptyMetarange
        if try store.metarange(id) == nil { try store.putMetarange(id: id, data: bytes, with: []) }
        return id
    }

    static func checkAmount(_ amount: Int) throws {
        guard amount > 0 else { throw EngineError.invalidArgument("amount must be positive") }
    }

    /// Removes rows of staging tokens dropped (by commits, resets, branch deletes) at least
    /// `gracePeriod` seconds ago; returns the number of rows removed. The grace period lets a
    /// listing that read a branch's tokens just before a commit finish reading them.
    @discardableResult
    public func sweepStaging(limit: Int = 50_000, gracePeriod: Int64 = 0) throws -> Int {
        try store.sweepDroppedStaging(limit: limit, droppedBefore: clock() - gracePeriod)
    }
}

/// A page of results and whether more follow (every listing is paginated like lakeFS's).
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var hasMore: Bool

    public init(items: [Item], hasMore: Bool) {
        self.items = items
        self.hasMore = hasMore
    }

    public static func from(_ fetched: [Item], amount: Int) -> Page {
        Page(items: Array(fetched.prefix(amount)), hasMore: fetched.count > amount)
    }
}
