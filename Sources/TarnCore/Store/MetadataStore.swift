/// What the versioning engine needs from a database. Every method is atomic on its own; the
/// engine never holds a transaction open across calls, so an implementation may sit on an
/// embedded database (SQLite) or on a server shared by many Tarn processes (PostgreSQL).
///
/// Branch heads move only through `completeCommit` / `resetBranch`, which compare the stored
/// branch with what the caller read before (optimistic concurrency). Methods throw
/// `EngineError` (`alreadyExists`, `*NotFound`, `namespaceInUse`, `storage`).
///
/// Declared here, not in TarnMetadata, so that TarnCore depends on no database: TarnMetadata
/// provides the implementations and the shared conformance tests.
public protocol MetadataStore: Sendable {
    // MARK: Repositories
    /// Creates the repository, stores its first commit and creates its default branch at it.
    func createRepository(_ repository: Repository, initialCommit: Commit) throws
    func repository(_ name: String) throws -> Repository?
    /// Repositories ordered by name, strictly after `after`.
    func listRepositories(prefix: String, after: String, limit: Int) throws -> [Repository]
    /// Deletes the repository with its branches, tags and commits; its staging is dropped.
    func deleteRepository(_ name: String) throws

    // MARK: Commits
    func putCommit(_ commit: Commit, repository: String) throws
    func commit(_ id: String, repository: String) throws -> Commit?
    /// Commit IDs that start with `prefix`, at most `limit`.
    func commitIDs(prefix: String, repository: String, limit: Int) throws -> [String]

    // MARK: Trees (content-addressed, shared by all repositories)
    func putRanges(_ ranges: [(id: String, data: [UInt8])]) throws
    func range(_ id: String) throws -> [UInt8]?
    /// Stores a metarange together with the last of its new ranges, in one write (one sync:
    /// a small commit's whole tree is one transaction).
    func putMetarange(id: String, data: [UInt8], with ranges: [(id: String, data: [UInt8])]) throws
    func metarange(_ id: String) throws -> [UInt8]?

    // MARK: Branches
    /// Creates a branch at `head` with a fresh, empty staging token.
    func createBranch(repository: String, name: String, head: String) throws -> Branch
    func branch(repository: String, name: String) throws -> Branch?
    func listBranches(repository: String, prefix: String, after: String, limit: Int) throws -> [Branch]
    func deleteBranch(repository: String, name: String) throws
    /// Moves the current staging token to the front of the sealed tokens and gives the branch a
    /// fresh one; returns the branch as it is afterwards.
    func sealStaging(repository: String, branch: String) throws -> Branch
    /// If the branch still has head `expected.headCommitID` and sealed tokens
    /// `expected.sealedTokens`, stores `commit`, moves the head to it, forgets the sealed tokens
    /// (their rows are removed later by `sweepDroppedStaging`) and returns true. Otherwise
    /// changes nothing and returns false.
    func completeCommit(repository: String, expected: Branch, commit: Commit) throws -> Bool
    /// Drops all staging of the branch (current and sealed tokens) and gives it a fresh token;
    /// when `head` is given, also moves the head there. With `expectedHead`, only if the head is
    /// still that commit (returns false otherwise).
    func resetBranch(repository: String, branch: String, head: String?, expectedHead: String?) throws -> Bool

    // MARK: Staging
    /// Writes the changes into the branch's current staging token, atomically.
    func stage(repository: String, branch: String, changes: [Change]) throws
    /// In one consistent read: the repository (nil when there is none), its branch `branch` if
    /// it has one, and that branch's newest staged change at `path`. One read instead of two
    /// because a GET of a small object needs all three, and each read transaction costs a lock
    /// of the database that every other reader contends for.
    func objectLookup(repository: String, branch: String, path: String) throws -> ObjectLookup?
    /// Changes under one token in path order, strictly after `after`, with paths >= `from`.
    func stagedChanges(token: Int64, from: String, after: String?, limit: Int) throws -> [Change]
    func hasStagedChanges(tokens: [Int64]) throws -> Bool
    /// Removes staged changes of the branch (all its tokens) at `path`, or under `prefix`.
    func unstage(repository: String, branch: String, path: String?, prefix: String?) throws
    /// Deletes up to `limit` rows of tokens dropped at or before `droppedBefore` (Unix
    /// seconds); returns how many it deleted.
    func sweepDroppedStaging(limit: Int, droppedBefore: Int64) throws -> Int

    // MARK: Detached staging (imports)
    /// A fresh staging token that belongs to no branch: an import writes its entries there and
    /// then commits them as one sorted change stream, leaving the branch's own staging alone.
    func createDetachedStagingToken() throws -> Int64
    /// Writes the changes under a detached token, atomically.
    func stage(token: Int64, changes: [Change]) throws
    /// Marks detached tokens dropped; `sweepDroppedStaging` removes their rows later.
    func dropStagingTokens(_ tokens: [Int64]) throws

    // MARK: Tags
    func createTag(repository: String, tag: Tag) throws
    func tag(repository: String, name: String) throws -> Tag?
    func listTags(repository: String, prefix: String, after: String, limit: Int) throws -> [Tag]
    func deleteTag(repository: String, name: String) throws

    // MARK: Branch protection

    /// A repository's protection patterns and their version (0 when none were ever set).
    func branchProtection(repository: String) throws -> (patterns: [String], version: Int64)
    /// Replaces the patterns if the version is still `expectedVersion` (any version when nil);
    /// returns the new version, or nil when it was not.
    func setBranchProtection(repository: String, patterns: [String], expectedVersion: Int64?) throws -> Int64?
}

/// What `MetadataStore.objectLookup` found: a repository, and maybe a branch with a staged change.
public struct ObjectLookup: Sendable {
    public var repository: Repository
    public var branch: Branch?
    /// The newest staged change at the path (a put or a delete), when the branch has one.
    public var staged: Change?

    public init(repository: Repository, branch: Branch?, staged: Change?) {
        self.repository = repository
        self.branch = branch
        self.staged = staged
    }
}
