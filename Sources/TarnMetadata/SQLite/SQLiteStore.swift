import CSQLite
import Foundation
import Synchronization
import TarnCore

/// The embedded metadata store: two SQLite files in WAL mode.
///
/// * `path` (4 KiB pages) holds repositories, branches, tags, commits and staging: small rows
///   written at random places, where small pages keep each write small.
/// * `path + "-trees"` (64 KiB pages) holds ranges and metaranges: immutable blobs of 10–500
///   KiB that are written once and read whole, where large pages mean a sixteenth of the
///   page reads. Writing trees there also keeps a large commit's tree writes from holding the
///   lock that staged writes need.
///
/// The refs file uses `synchronous=NORMAL`: a transaction is durable once the call returns,
/// even if the process is killed; a power loss can lose the last transactions before a
/// checkpoint. The trees file uses `synchronous=FULL`, so a tree is on disk before any commit
/// row that points at it can be: the two files cannot lose writes out of order.
///
/// Every SQL statement of the store is in this file or in `Schemas/sqlite/`.
public final class SQLiteStore: MetadataStore {
    public let path: String
    private let refs: SQLiteDatabase
    private let treeFile: SQLiteDatabase
    /// Set once at the end of `init`, read in `deinit`.
    nonisolated(unsafe) private var maintenance: Maintenance?

    /// Opens (creating if needed) the database at `path` (and its trees file) and applies
    /// pending migrations. A background thread checkpoints both WALs and, when
    /// `sweepGracePeriod` is set, deletes the rows of staging tokens dropped at least that many
    /// seconds ago.
    public init(path: String, sweepGracePeriod: Int64? = 30) throws {
        self.path = path
        refs = try SQLiteDatabase(path: path, layout: .init(pageSize: 4096, synchronous: "NORMAL", migrations: Migrations.refs))
        treeFile = try SQLiteDatabase(path: path + "-trees",
                                      layout: .init(pageSize: 65536, synchronous: "FULL", migrations: Migrations.trees))
        var sweep: (@Sendable () -> Void)?
        if let grace = sweepGracePeriod {
            sweep = { [weak self] in
                let before = Int64(Date().timeIntervalSince1970) - grace
                _ = try? self?.sweepDroppedStaging(limit: 5_000, droppedBefore: before)
            }
        }
        maintenance = try Maintenance(databases: [refs, treeFile], sweep: sweep)
    }

    deinit { maintenance?.stop() }

    /// Stops the background thread and folds both WALs into their files, so that a stopped
    /// server leaves two self-contained database files. Call it when no request runs any more.
    public func close() throws {
        maintenance?.stop()
        try checkpoint()
    }

    /// Copies both WALs into their database files now and truncates them (the maintenance
    /// thread does this incrementally; tests and shutdown call it directly).
    public func checkpoint() throws {
        try refs.checkpoint()
        try treeFile.checkpoint()
    }

    /// `PRAGMA integrity_check` of both files: "ok" when both are sound.
    public func integrityCheck() throws -> String {
        let a = try refs.integrityCheck(), b = try treeFile.integrityCheck()
        return a == "ok" && b == "ok" ? "ok" : "refs: \(a); trees: \(b)"
    }

    /// Applied schema versions of the refs file, oldest first.
    public func schemaVersions() throws -> [Int] { try refs.schemaVersions() }

    func write<T>(_ body: (SQLiteConnection) throws -> T) throws -> T { try refs.write(body) }
    func read<T>(_ body: (SQLiteConnection) throws -> T) throws -> T { try refs.read(body) }

    // MARK: Row helpers

    private static func tokens(_ text: String) -> [Int64] {
        text.isEmpty ? [] : text.split(separator: ",").compactMap { Int64($0) }
    }

    private static func tokensText(_ tokens: [Int64]) -> String {
        tokens.map(String.init).joined(separator: ",")
    }

    private func newToken(_ c: SQLiteConnection) throws -> Int64 {
        try c.statement("INSERT INTO staging_tokens DEFAULT VALUES").run()
        return sqlite3_last_insert_rowid(c.handle)
    }

    private func drop(_ tokens: [Int64], _ c: SQLiteConnection) throws {
        for t in tokens {
            try c.statement("UPDATE staging_tokens SET dropped_at = ? WHERE id = ?")
                .bind(.int(Int64(Date().timeIntervalSince1970)), .int(t)).run()
        }
    }

    private func loadBranch(_ c: SQLiteConnection, _ repository: String, _ name: String) throws -> Branch? {
        let s = try c.statement("""
            SELECT head_commit, staging_token, sealed_tokens FROM branches WHERE repository = ? AND name = ?
            """)
        s.bind(.text(repository), .text(name))
        guard try s.step() else { return nil }
        return Branch(name: name, headCommitID: s.text(0), stagingToken: s.int(1), sealedTokens: Self.tokens(s.text(2)))
    }

    private func saveBranch(_ c: SQLiteConnection, _ repository: String, _ b: Branch) throws {
        try c.statement("""
            UPDATE branches SET head_commit = ?, staging_token = ?, sealed_tokens = ? WHERE repository = ? AND name = ?
            """).bind(.text(b.headCommitID), .int(b.stagingToken), .text(Self.tokensText(b.sealedTokens)),
                      .text(repository), .text(b.name)).run()
    }

    func repositoryExists(_ c: SQLiteConnection, _ name: String) throws -> Bool {
        try c.statement("SELECT 1 FROM repositories WHERE name = ?").bind(.text(name)).step()
    }

    private func insertCommit(_ c: SQLiteConnection, _ commit: Commit, _ repository: String) throws {
        var meta = ByteWriter()
        meta.stringMap(commit.metadata)
        try c.statement("""
            INSERT OR IGNORE INTO commits
                (repository, id, parents, metarange_id, message, committer, created_at, metadata, generation)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).bind(.text(repository), .text(commit.id), .text(commit.parents.joined(separator: ",")),
                      .text(commit.metarangeID), .text(commit.message), .text(commit.committer),
                      .int(commit.createdAt), .blob(meta.bytes), .int(commit.generation)).run()
    }

    /// Steps a statement, collecting rows while `take` returns a value, up to `limit`.
    func collect<T>(_ s: SQLiteStatement, limit: Int, _ take: (SQLiteStatement) throws -> T?) throws -> [T] {
        var out: [T] = []
        while out.count < limit, try s.step() {
            guard let v = try take(s) else { break }
            out.append(v)
        }
        return out
    }

    // MARK: Repositories

    public func createRepository(_ repository: Repository, initialCommit: Commit) throws {
        try write { c in
            if try repositoryExists(c, repository.name) {
                throw EngineError.alreadyExists(kind: "repository", name: repository.name)
            }
            // The same location, or one inside the other: either way two repositories would
            // share objects' directories.
            let ns = repository.storageNamespace
            if try c.statement("""
                SELECT 1 FROM repositories WHERE storage_namespace = ?1
                    OR substr(storage_namespace, 1, length(?1) + 1) = ?1 || '/'
                    OR substr(?1, 1, length(storage_namespace) + 1) = storage_namespace || '/'
                LIMIT 1
                """).bind(.text(ns)).step() {
                throw EngineError.namespaceInUse(ns)
            }
            try c.statement("""
                INSERT INTO repositories (name, storage_namespace, default_branch, created_at) VALUES (?, ?, ?, ?)
                """).bind(.text(repository.name), .text(repository.storageNamespace), .text(repository.defaultBranch),
                          .int(repository.createdAt)).run()
            try insertCommit(c, initialCommit, repository.name)
            let token = try newToken(c)
            try c.statement("""
                INSERT INTO branches (repository, name, head_commit, staging_token) VALUES (?, ?, ?, ?)
                """).bind(.text(repository.name), .text(repository.defaultBranch), .text(initialCommit.id), .int(token)).run()
        }
    }

    private static func repositoryRow(_ s: SQLiteStatement) -> Repository {
        Repository(name: s.text(0), storageNamespace: s.text(1), defaultBranch: s.text(2), createdAt: s.int(3))
    }

    public func repository(_ name: String) throws -> Repository? {
        try read { c in try loadRepository(c, name) }
    }

    private func loadRepository(_ c: SQLiteConnection, _ name: String) throws -> Repository? {
        let s = try c.statement("""
            SELECT name, storage_namespace, default_branch, created_at FROM repositories WHERE name = ?
            """)
        s.bind(.text(name))
        return try s.step() ? Self.repositoryRow(s) : nil
    }

    public func listRepositories(prefix: String, after: String, limit: Int) throws -> [Repository] {
        try read { c in
            let s = try c.statement("""
                SELECT name, storage_namespace, default_branch, created_at FROM repositories
                WHERE name >= ? AND name > ? ORDER BY name
                """)
            s.bind(.text(prefix), .text(after))
            return try collect(s, limit: limit) { s in
                let r = Self.repositoryRow(s)
                return r.name.hasPathPrefix(prefix) ? r : nil
            }
        }
    }

    public func deleteRepository(_ name: String) throws {
        try write { c in
            let s = try c.statement("SELECT staging_token, sealed_tokens FROM branches WHERE repository = ?")
            s.bind(.text(name))
            var tokens: [Int64] = []
            while try s.step() { tokens += [s.int(0)] + Self.tokens(s.text(1)) }
            try drop(tokens, c)
            for table in ["branches", "tags", "commits", "branch_protection", "action_runs", "hook_runs"] {
                try c.statement("DELETE FROM \(table) WHERE repository = ?").bind(.text(name)).run()
            }
            try c.statement("DELETE FROM repositories WHERE name = ?").bind(.text(name)).run()
        }
    }

    // MARK: Commits

    public func putCommit(_ commit: Commit, repository: String) throws {
        try write { c in try insertCommit(c, commit, repository) }
    }

    public func commit(_ id: String, repository: String) throws -> Commit? {
        try read { c in
            let s = try c.statement("""
                SELECT parents, metarange_id, message, committer, created_at, metadata, generation
                FROM commits WHERE repository = ? AND id = ?
                """)
            s.bind(.text(repository), .text(id))
            guard try s.step() else { return nil }
            let parents = s.text(0)
            var meta = ByteReader(s.blob(5))
            return Commit(id: id, parents: parents.isEmpty ? [] : parents.split(separator: ",").map(String.init),
                          metarangeID: s.text(1), message: s.text(2), committer: s.text(3), createdAt: s.int(4),
                          metadata: try meta.stringMap(), generation: s.int(6))
        }
    }

    public func commitIDs(prefix: String, repository: String, limit: Int) throws -> [String] {
        try read { c in
            let s = try c.statement("SELECT id FROM commits WHERE repository = ? AND id >= ? ORDER BY id")
            s.bind(.text(repository), .text(prefix))
            return try collect(s, limit: limit) { s in
                let id = s.text(0)
                return id.hasPathPrefix(prefix) ? id : nil
            }
        }
    }

    // MARK: Trees

    private func insertRanges(_ ranges: [(id: String, data: [UInt8])], _ c: SQLiteConnection) throws {
        for r in ranges {
            try c.statement("INSERT OR IGNORE INTO ranges (id, data) VALUES (?, ?)").bind(.text(r.id), .blob(r.data)).run()
        }
    }

    public func putRanges(_ ranges: [(id: String, data: [UInt8])]) throws {
        try treeFile.write { c in
            try insertRanges(ranges, c)
        }
    }

    public func range(_ id: String) throws -> [UInt8]? {
        try treeFile.read { c in
            let s = try c.statement("SELECT data FROM ranges WHERE id = ?")
            s.bind(.text(id))
            return try s.step() ? s.blob(0) : nil
        }
    }

    public func putMetarange(id: String, data: [UInt8], with ranges: [(id: String, data: [UInt8])]) throws {
        try treeFile.write { c in
            try insertRanges(ranges, c)
            try c.statement("INSERT OR IGNORE INTO metaranges (id, data) VALUES (?, ?)").bind(.text(id), .blob(data)).run()
        }
    }

    public func metarange(_ id: String) throws -> [UInt8]? {
        try treeFile.read { c in
            let s = try c.statement("SELECT data FROM metaranges WHERE id = ?")
            s.bind(.text(id))
            return try s.step() ? s.blob(0) : nil
        }
    }

    // MARK: Branches

    public func createBranch(repository: String, name: String, head: String) throws -> Branch {
        try write { c in
            guard try repositoryExists(c, repository) else { throw EngineError.repositoryNotFound(repository) }
            if try loadBranch(c, repository, name) != nil { throw EngineError.alreadyExists(kind: "branch", name: name) }
            let token = try newToken(c)
            try c.statement("""
                INSERT INTO branches (repository, name, head_commit, staging_token) VALUES (?, ?, ?, ?)
                """).bind(.text(repository), .text(name), .text(head), .int(token)).run()
            return Branch(name: name, headCommitID: head, stagingToken: token)
        }
    }

    public func branch(repository: String, name: String) throws -> Branch? {
        try read { c in try loadBranch(c, repository, name) }
    }

    public func listBranches(repository: String, prefix: String, after: String, limit: Int) throws -> [Branch] {
        try read { c in
            let s = try c.statement("""
                SELECT name, head_commit, staging_token, sealed_tokens FROM branches
                WHERE repository = ? AND name >= ? AND name > ? ORDER BY name
                """)
            s.bind(.text(repository), .text(prefix), .text(after))
            return try collect(s, limit: limit) { s in
                let name = s.text(0)
                guard name.hasPathPrefix(prefix) else { return nil }
                return Branch(name: name, headCommitID: s.text(1), stagingToken: s.int(2), sealedTokens: Self.tokens(s.text(3)))
            }
        }
    }

    public func deleteBranch(repository: String, name: String) throws {
        try write { c in
            guard let b = try loadBranch(c, repository, name) else { throw EngineError.branchNotFound(name) }
            try drop(b.readTokens, c)
            try c.statement("DELETE FROM branches WHERE repository = ? AND name = ?").bind(.text(repository), .text(name)).run()
        }
    }

    public func sealStaging(repository: String, branch: String) throws -> Branch {
        try write { c in
            guard var b = try loadBranch(c, repository, branch) else { throw EngineError.branchNotFound(branch) }
            b.sealedTokens.insert(b.stagingToken, at: 0)
            b.stagingToken = try newToken(c)
            try saveBranch(c, repository, b)
            return b
        }
    }

    public func completeCommit(repository: String, expected: Branch, commit: Commit) throws -> Bool {
        try write { c in
            guard var b = try loadBranch(c, repository, expected.name),
                  b.headCommitID == expected.headCommitID,
                  b.sealedTokens.count >= expected.sealedTokens.count,
                  Array(b.sealedTokens.suffix(expected.sealedTokens.count)) == expected.sealedTokens
            else { return false }
            try insertCommit(c, commit, repository)
            // Tokens sealed after ours belong to a commit still in progress: keep them.
            b.sealedTokens.removeLast(expected.sealedTokens.count)
            b.headCommitID = commit.id
            try saveBranch(c, repository, b)
            try drop(expected.sealedTokens, c)
            return true
        }
    }

    public func resetBranch(repository: String, branch: String, head: String?, expectedHead: String?) throws -> Bool {
        try write { c in
            guard var b = try loadBranch(c, repository, branch) else { throw EngineError.branchNotFound(branch) }
            if let expectedHead, b.headCommitID != expectedHead { return false }
            try drop(b.readTokens, c)
            b.stagingToken = try newToken(c)
            b.sealedTokens = []
            if let head { b.headCommitID = head }
            try saveBranch(c, repository, b)
            return true
        }
    }

    // MARK: Staging

    public func stage(repository: String, branch: String, changes: [Change]) throws {
        try write { c in
            let s = try c.statement("SELECT staging_token FROM branches WHERE repository = ? AND name = ?")
            s.bind(.text(repository), .text(branch))
            guard try s.step() else { throw EngineError.branchNotFound(branch) }
            try insertStaged(c, token: s.int(0), changes)
        }
    }

    public func createDetachedStagingToken() throws -> Int64 {
        try write { c in try newToken(c) }
    }

    public func stage(token: Int64, changes: [Change]) throws {
        try write { c in try insertStaged(c, token: token, changes) }
    }

    public func dropStagingTokens(_ tokens: [Int64]) throws {
        try write { c in try drop(tokens, c) }
    }

    private func insertStaged(_ c: SQLiteConnection, token: Int64, _ changes: [Change]) throws {
        for change in changes {
            let insert = try c.statement("INSERT OR REPLACE INTO staging (token, path, entry) VALUES (?, ?, ?)")
            insert.bind(.int(token), .text(change.path), change.entry.map { .blob(EntryCoding.encodeValue($0)) } ?? .null)
            try insert.run()
        }
    }

    private func stagedChange(_ c: SQLiteConnection, token: Int64, path: String) throws -> Change? {
        let s = try c.statement("SELECT entry FROM staging WHERE token = ? AND path = ?")
        s.bind(.int(token), .text(path))
        guard try s.step() else { return nil }
        if s.isNull(0) { return .delete(path) }
        return .put(try EntryCoding.decodeValue(path: path, bytes: s.blob(0)))
    }

    public func objectLookup(repository: String, branch: String, path: String) throws -> ObjectLookup? {
        try read { c in
            guard let repo = try loadRepository(c, repository) else { return nil }
            guard let b = try loadBranch(c, repository, branch) else { return ObjectLookup(repository: repo, branch: nil, staged: nil) }
            for token in b.readTokens {
                if let change = try stagedChange(c, token: token, path: path) { return ObjectLookup(repository: repo, branch: b, staged: change) }
            }
            return ObjectLookup(repository: repo, branch: b, staged: nil)
        }
    }

    public func stagedChanges(token: Int64, from: String, after: String?, limit: Int) throws -> [Change] {
        try read { c in
            let s: SQLiteStatement
            if let after {
                s = try c.statement("SELECT path, entry FROM staging WHERE token = ? AND path >= ? AND path > ? ORDER BY path")
                s.bind(.int(token), .text(from), .text(after))
            } else {
                s = try c.statement("SELECT path, entry FROM staging WHERE token = ? AND path >= ? ORDER BY path")
                s.bind(.int(token), .text(from))
            }
            return try collect(s, limit: limit) { s in
                let path = s.text(0)
                if s.isNull(1) { return Change.delete(path) }
                return Change.put(try EntryCoding.decodeValue(path: path, bytes: s.blob(1)))
            }
        }
    }

    public func hasStagedChanges(tokens: [Int64]) throws -> Bool {
        try read { c in
            for t in tokens where try c.statement("SELECT 1 FROM staging WHERE token = ? LIMIT 1").bind(.int(t)).step() {
                return true
            }
            return false
        }
    }

    public func unstage(repository: String, branch: String, path: String?, prefix: String?) throws {
        try write { c in
            guard let b = try loadBranch(c, repository, branch) else { throw EngineError.branchNotFound(branch) }
            for token in b.readTokens {
                if let path {
                    try c.statement("DELETE FROM staging WHERE token = ? AND path = ?").bind(.int(token), .text(path)).run()
                }
                if let prefix {
                    let s = try c.statement("SELECT path FROM staging WHERE token = ? AND path >= ? ORDER BY path")
                    s.bind(.int(token), .text(prefix))
                    let paths = try collect(s, limit: .max) { s in
                        let p = s.text(0)
                        return p.hasPathPrefix(prefix) ? p : nil
                    }
                    for p in paths {
                        try c.statement("DELETE FROM staging WHERE token = ? AND path = ?").bind(.int(token), .text(p)).run()
                    }
                }
            }
        }
    }

    public func sweepDroppedStaging(limit: Int, droppedBefore: Int64) throws -> Int {
        var removed = 0
        while removed < limit {
            // One short transaction per batch, so staged writes interleave with the sweep.
            let (batch, done) = try write { c -> (Int, Bool) in
                let s = try c.statement(
                    "SELECT id FROM staging_tokens WHERE dropped_at IS NOT NULL AND dropped_at <= ? ORDER BY dropped_at LIMIT 1")
                s.bind(.int(droppedBefore))
                guard try s.step() else { return (0, true) }
                let token = s.int(0)
                let n = min(5_000, limit - removed)
                try c.statement("""
                    DELETE FROM staging WHERE token = ?1 AND path IN
                        (SELECT path FROM staging WHERE token = ?1 ORDER BY path LIMIT ?2)
                    """).bind(.int(token), .int(Int64(n))).run()
                let deleted = c.changes
                if deleted < n {
                    try c.statement("DELETE FROM staging_tokens WHERE id = ?").bind(.int(token)).run()
                }
                return (deleted, false)
            }
            if done { break }
            removed += batch
        }
        return removed
    }

    // MARK: Tags

    public func createTag(repository: String, tag: Tag) throws {
        try write { c in
            guard try repositoryExists(c, repository) else { throw EngineError.repositoryNotFound(repository) }
            if try c.statement("SELECT 1 FROM tags WHERE repository = ? AND name = ?").bind(.text(repository), .text(tag.name)).step() {
                throw EngineError.alreadyExists(kind: "tag", name: tag.name)
            }
            try c.statement("INSERT INTO tags (repository, name, commit_id) VALUES (?, ?, ?)")
                .bind(.text(repository), .text(tag.name), .text(tag.commitID)).run()
        }
    }

    public func tag(repository: String, name: String) throws -> Tag? {
        try read { c in
            let s = try c.statement("SELECT commit_id FROM tags WHERE repository = ? AND name = ?")
            s.bind(.text(repository), .text(name))
            return try s.step() ? Tag(name: name, commitID: s.text(0)) : nil
        }
    }

    public func listTags(repository: String, prefix: String, after: String, limit: Int) throws -> [Tag] {
        try read { c in
            let s = try c.statement("""
                SELECT name, commit_id FROM tags WHERE repository = ? AND name >= ? AND name > ? ORDER BY name
                """)
            s.bind(.text(repository), .text(prefix), .text(after))
            return try collect(s, limit: limit) { s in
                let name = s.text(0)
                return name.hasPathPrefix(prefix) ? Tag(name: name, commitID: s.text(1)) : nil
            }
        }
    }

    public func deleteTag(repository: String, name: String) throws {
        try write { c in
            try c.statement("DELETE FROM tags WHERE repository = ? AND name = ?").bind(.text(repository), .text(name)).run()
        }
    }

    // MARK: Branch protection

    public func branchProtection(repository: String) throws -> (patterns: [String], version: Int64) {
        try read { c in
            guard try repositoryExists(c, repository) else { throw EngineError.repositoryNotFound(repository) }
            let s = try c.statement("SELECT patterns, version FROM branch_protection WHERE repository = ?")
            s.bind(.text(repository))
            guard try s.step() else { return ([], 0) }
            let patterns = (try? JSONDecoder().decode([String].self, from: Data(s.text(0).utf8))) ?? []
            return (patterns, s.int(1))
        }
    }

    public func setBranchProtection(repository: String, patterns: [String], expectedVersion: Int64?) throws -> Int64? {
        let json = String(decoding: try JSONEncoder().encode(patterns), as: UTF8.self)
        return try write { c in
            guard try repositoryExists(c, repository) else { throw EngineError.repositoryNotFound(repository) }
            let s = try c.statement("SELECT version FROM branch_protection WHERE repository = ?")
            s.bind(.text(repository))
            let current = try s.step() ? s.int(0) : 0
            if let expectedVersion, expectedVersion != current { return nil }
            try c.statement("""
                INSERT INTO branch_protection (repository, patterns, version) VALUES (?, ?, ?)
                ON CONFLICT (repository) DO UPDATE SET patterns = excluded.patterns, version = excluded.version
                """).bind(.text(repository), .text(json), .int(current + 1)).run()
            return current + 1
        }
    }

    // MARK: Multipart uploads (S3)

    public struct MultipartUpload: Sendable {
        public var id: String
        public var repository: String
        public var branch: String
        public var path: String
        public var contentType: String
        public var metadata: [String: String]
        public var createdAt: Int64
        /// The checksum algorithm and kind the upload was created with (S3 names), or nil.
        public var checksumAlgorithm: String?
        public var checksumType: String?
        /// Set once the upload was completed: the ETag it produced, and its checksum if any.
        public var completedETag: String?
        public var completedChecksum: String?

        public init(id: String, repository: String, branch: String, path: String, contentType: String,
                    metadata: [String: String], createdAt: Int64, checksumAlgorithm: String? = nil, checksumType: String? = nil,
                    completedETag: String? = nil, completedChecksum: String? = nil) {
            (self.id, self.repository, self.branch, self.path) = (id, repository, branch, path)
            (self.contentType, self.metadata, self.createdAt) = (contentType, metadata, createdAt)
            (self.checksumAlgorithm, self.checksumType) = (checksumAlgorithm, checksumType)
            (self.completedETag, self.completedChecksum) = (completedETag, completedChecksum)
        }
    }

    public struct MultipartPart: Sendable {
        public var number: Int
        public var physicalAddress: String
        public var size: Int64
        public var md5: String
        public var createdAt: Int64
        /// The part's checksum in its upload's algorithm (base64), or nil.
        public var checksum: String?

        public init(number: Int, physicalAddress: String, size: Int64, md5: String, createdAt: Int64, checksum: String? = nil) {
            (self.number, self.physicalAddress, self.size, self.md5, self.createdAt) = (number, physicalAddress, size, md5, createdAt)
            self.checksum = checksum
        }
    }

    public func createMultipartUpload(_ u: MultipartUpload) throws {
        let json = String(decoding: try JSONEncoder().encode(u.metadata), as: UTF8.self)
        try write { c in
            try c.statement("""
                INSERT INTO multipart_uploads (id, repository, branch, path, content_type, metadata, created_at, checksum_algorithm, checksum_type)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """).bind(.text(u.id), .text(u.repository), .text(u.branch), .text(u.path), .text(u.contentType),
                          .text(json), .int(u.createdAt), Self.optional(u.checksumAlgorithm), Self.optional(u.checksumType)).run()
        }
    }

    static func optional(_ text: String?) -> SQLValue { text.map { .text($0) } ?? .null }

    /// Times stored as Unix milliseconds (action runs, lineage runs).
    static func millis(_ d: Date) -> Int64 { Int64((d.timeIntervalSince1970 * 1000).rounded()) }
    static func date(millis: Int64) -> Date { Date(timeIntervalSince1970: Double(millis) / 1000) }

    private static let uploadColumns = """
        id, repository, branch, path, content_type, metadata, created_at, completed_etag, checksum_algorithm, checksum_type, completed_checksum
        """

    private static func uploadRow(_ s: SQLiteStatement) -> MultipartUpload {
        let metadata = (try? JSONDecoder().decode([String: String].self, from: Data(s.text(5).utf8))) ?? [:]
        func text(_ i: Int32) -> String? { s.isNull(i) ? nil : s.text(i) }
        return MultipartUpload(id: s.text(0), repository: s.text(1), branch: s.text(2), path: s.text(3), contentType: s.text(4),
                               metadata: metadata, createdAt: s.int(6), checksumAlgorithm: text(8), checksumType: text(9),
                               completedETag: text(7), completedChecksum: text(10))
    }

    private static let partColumns = "part_number, physical_address, size, md5, created_at, checksum"

    private static func partRow(_ s: SQLiteStatement) -> MultipartPart {
        MultipartPart(number: Int(s.int(0)), physicalAddress: s.text(1), size: s.int(2), md5: s.text(3), createdAt: s.int(4),
                      checksum: s.isNull(5) ? nil : s.text(5))
    }

    public func multipartUpload(_ id: String) throws -> MultipartUpload? {
        try read { c in
            let s = try c.statement("SELECT \(Self.uploadColumns) FROM multipart_uploads WHERE id = ?")
            s.bind(.text(id))
            return try s.step() ? Self.uploadRow(s) : nil
        }
    }

    /// Uploads of a repository in (path, id) order, after the given marker pair.
    public func listMultipartUploads(repository: String, afterPath: String, afterID: String, limit: Int) throws -> [MultipartUpload] {
        try read { c in
            let s = try c.statement("""
                SELECT \(Self.uploadColumns) FROM multipart_uploads
                WHERE repository = ? AND completed_etag IS NULL AND (branch || '/' || path, id) > (?, ?)
                ORDER BY branch || '/' || path, id
                """)
            s.bind(.text(repository), .text(afterPath), .text(afterID))
            return try collect(s, limit: limit) { Self.uploadRow($0) }
        }
    }

    /// Records a part; returns the part it replaced (whose bytes the caller deletes).
    public func putMultipartPart(uploadID: String, _ part: MultipartPart) throws -> MultipartPart? {
        try write { c in
            guard try c.statement("SELECT 1 FROM multipart_uploads WHERE id = ? AND completed_etag IS NULL").bind(.text(uploadID)).step() else {
                throw EngineError.objectNotFound("upload \(uploadID)")
            }
            let old = try c.statement("SELECT \(Self.partColumns) FROM multipart_parts WHERE upload_id = ? AND part_number = ?")
            old.bind(.text(uploadID), .int(Int64(part.number)))
            let replaced = try old.step() ? Self.partRow(old) : nil
            try c.statement("""
                INSERT INTO multipart_parts (upload_id, part_number, physical_address, size, md5, created_at, checksum)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (upload_id, part_number) DO UPDATE SET physical_address = excluded.physical_address,
                    size = excluded.size, md5 = excluded.md5, created_at = excluded.created_at, checksum = excluded.checksum
                """).bind(.text(uploadID), .int(Int64(part.number)), .text(part.physicalAddress), .int(part.size), .text(part.md5),
                          .int(part.createdAt), Self.optional(part.checksum)).run()
            return replaced
        }
    }

    public func multipartParts(uploadID: String, afterNumber: Int, limit: Int) throws -> [MultipartPart] {
        try read { c in
            let s = try c.statement("""
                SELECT \(Self.partColumns) FROM multipart_parts WHERE upload_id = ? AND part_number > ? ORDER BY part_number
                """)
            s.bind(.text(uploadID), .int(Int64(afterNumber)))
            return try collect(s, limit: limit) { Self.partRow($0) }
        }
    }

    /// Removes an upload's parts' rows and the upload itself, or, with `completedETag`, marks it
    /// completed instead; returns the parts (whose bytes the caller deletes), or nil when there
    /// was no such open upload.
    public func removeMultipartUpload(_ id: String, completedETag: String? = nil, completedChecksum: String? = nil) throws -> [MultipartPart]? {
        try write { c in
            guard try c.statement("SELECT 1 FROM multipart_uploads WHERE id = ? AND completed_etag IS NULL").bind(.text(id)).step() else {
                return nil
            }
            let s = try c.statement("SELECT \(Self.partColumns) FROM multipart_parts WHERE upload_id = ? ORDER BY part_number")
            s.bind(.text(id))
            let parts = try collect(s, limit: .max) { Self.partRow($0) }
            try c.statement("DELETE FROM multipart_parts WHERE upload_id = ?").bind(.text(id)).run()
            if let completedETag {
                try c.statement("UPDATE multipart_uploads SET completed_etag = ?, completed_checksum = ? WHERE id = ?")
                    .bind(.text(completedETag), Self.optional(completedChecksum), .text(id)).run()
            } else {
                try c.statement("DELETE FROM multipart_uploads WHERE id = ?").bind(.text(id)).run()
            }
            return parts
        }
    }

    // MARK: Users and credentials

    /// Stores a user (if new) and an access key with its sealed secret, in one transaction.
    public func insertCredential(user: String, accessKeyID: String, sealedSecret: [UInt8], createdAt: Int64) throws {
        try write { c in
            try c.statement("INSERT OR IGNORE INTO users (id, created_at) VALUES (?, ?)").bind(.text(user), .int(createdAt)).run()
            if try c.statement("SELECT 1 FROM credentials WHERE access_key_id = ?").bind(.text(accessKeyID)).step() {
                throw EngineError.alreadyExists(kind: "credentials", name: accessKeyID)
            }
            try c.statement("INSERT INTO credentials (access_key_id, user_id, secret_sealed, created_at) VALUES (?, ?, ?, ?)")
                .bind(.text(accessKeyID), .text(user), .blob(sealedSecret), .int(createdAt)).run()
        }
    }

    /// The user and sealed secret of an access key.
    public func credential(accessKeyID: String) throws -> (user: String, sealedSecret: [UInt8])? {
        try read { c in
            let s = try c.statement("SELECT user_id, secret_sealed FROM credentials WHERE access_key_id = ?")
            s.bind(.text(accessKeyID))
            return try s.step() ? (s.text(0), s.blob(1)) : nil
        }
    }

    /// A user's creation time (Unix seconds), or nil if there is no such user.
    public func userCreatedAt(_ id: String) throws -> Int64? {
        try read { c in
            let s = try c.statement("SELECT created_at FROM users WHERE id = ?")
            s.bind(.text(id))
            return try s.step() ? s.int(0) : nil
        }
    }

    /// Creates a user; `alreadyExists` if the ID is taken.
    public func createUser(_ id: String, createdAt: Int64) throws {
        try write { c in
            if try c.statement("SELECT 1 FROM users WHERE id = ?").bind(.text(id)).step() {
                throw EngineError.alreadyExists(kind: "user", name: id)
            }
            try c.statement("INSERT INTO users (id, created_at) VALUES (?, ?)").bind(.text(id), .int(createdAt)).run()
        }
    }

    /// Users in ID order after `after`, with their creation times.
    public func listUsers(prefix: String, after: String, limit: Int) throws -> [(id: String, createdAt: Int64)] {
        try read { c in
            let s = try c.statement("SELECT id, created_at FROM users WHERE id >= ? AND id > ? ORDER BY id")
            s.bind(.text(prefix), .text(after))
            return try collect(s, limit: limit) { s in
                let id = s.text(0)
                return id.hasPrefix(prefix) ? (id, s.int(1)) : nil
            }
        }
    }

    /// Deletes a user and all its access keys; `false` if there was no such user.
    public func deleteUser(_ id: String) throws -> Bool {
        try write { c in
            try c.statement("DELETE FROM credentials WHERE user_id = ?").bind(.text(id)).run()
            try c.statement("DELETE FROM users WHERE id = ?").bind(.text(id)).run()
            return c.changes > 0
        }
    }

    /// A user's access keys with their creation times, in key order after `after`.
    public func listCredentials(user: String, after: String, limit: Int) throws -> [(accessKeyID: String, createdAt: Int64)] {
        try read { c in
            let s = try c.statement("""
                SELECT access_key_id, created_at FROM credentials WHERE user_id = ? AND access_key_id > ? ORDER BY access_key_id
                """)
            s.bind(.text(user), .text(after))
            return try collect(s, limit: limit) { ($0.text(0), $0.int(1)) }
        }
    }

    /// The creation time of one of a user's access keys, or nil.
    public func credentialCreatedAt(user: String, accessKeyID: String) throws -> Int64? {
        try read { c in
            let s = try c.statement("SELECT created_at FROM credentials WHERE user_id = ? AND access_key_id = ?")
            s.bind(.text(user), .text(accessKeyID))
            return try s.step() ? s.int(0) : nil
        }
    }

    /// Deletes one of a user's access keys; `false` if the user has no such key.
    public func deleteCredential(user: String, accessKeyID: String) throws -> Bool {
        try write { c in
            try c.statement("DELETE FROM credentials WHERE user_id = ? AND access_key_id = ?").bind(.text(user), .text(accessKeyID)).run()
            return c.changes > 0
        }
    }

    /// Access keys of a user, oldest first.
    public func accessKeys(user: String) throws -> [String] {
        try read { c in
            let s = try c.statement("SELECT access_key_id FROM credentials WHERE user_id = ? ORDER BY created_at, access_key_id")
            s.bind(.text(user))
            return try collect(s, limit: .max) { $0.text(0) }
        }
    }
}
