/// One row of a listing: an object, or (with a delimiter) a common prefix standing for all
/// objects below it.
public struct ListRow: Sendable, Hashable {
    public var path: String
    public var isCommonPrefix: Bool
    public var entry: Entry?
}

extension VersioningEngine {
    /// Stages puts and deletes on a branch in one atomic write. Tombstones are staged as given,
    /// without checking that the path exists (use `deleteObject` for that).
    public func stage(repository: String, branch: String, changes: [Change]) throws {
        for c in changes {
            guard !c.path.isEmpty else { throw EngineError.invalidArgument("empty path") }
            if let e = c.entry, !pathsEqual(e.path, c.path) {
                throw EngineError.invalidArgument("entry path \(e.path) does not match \(c.path)")
            }
        }
        try requireUnprotected(repository, branch, action: "write to")
        do {
            try store.stage(repository: repository, branch: branch, changes: changes)
        } catch EngineError.branchNotFound(let b) {
            _ = try requireRepository(repository)
            throw EngineError.branchNotFound(b)
        }
    }

    public func putObject(repository: String, branch: String, entry: Entry) throws {
        try stage(repository: repository, branch: branch, changes: [.put(entry)])
    }

    /// Deletes an object from a branch; `objectNotFound` if the branch does not have it. A
    /// protected branch refuses first, so an S3 delete of a missing key is not a silent 204.
    public func deleteObject(repository: String, branch: String, path: String) throws {
        try requireUnprotected(repository, branch, action: "delete from")
        _ = try getObject(repository: repository, ref: branch, path: path)
        try stage(repository: repository, branch: branch, changes: [.delete(path)])
    }

    /// The entry at `path` in one commit's tree, nil when absent: no ref parsing, no staging,
    /// and the commit's metarange not cached (lineage impact queries read hundreds of trees
    /// once each: `TreeStore.lookupOnce`).
    public func lookup(repository: String, commitID: String, path: String) throws -> Entry? {
        let commit = try loadCommit(commitID, repository: repository)
        return try trees.lookupOnce(path, inMetarange: commit.metarangeID)
    }

    /// Reads one object. A bare branch name sees staged changes over the head tree; any other
    /// ref (`main@`, a tag, a commit) sees committed data only.
    public func getObject(repository: String, ref: String, path: String) throws -> Entry {
        try findObject(repository: repository, ref: ref, path: path, withRepository: false).1
    }

    /// Reads one object as `getObject` does, with its repository (whose storage namespace holds
    /// the bytes). For a branch, the repository, the branch and its staging are one read.
    public func locateObject(repository: String, ref: String, path: String) throws -> (repository: Repository, entry: Entry) {
        let (repo, entry) = try findObject(repository: repository, ref: ref, path: path, withRepository: true)
        return (repo!, entry)
    }

    /// The entry, and the repository when it came with the read or `withRepository` asks for it.
    private func findObject(repository: String, ref: String, path: String, withRepository: Bool) throws -> (Repository?, Entry) {
        let expr = try RefExpression(parsing: ref)
        if expr.isBare, !(ContentHash.isHex(expr.base) && expr.base.utf8.count == 64) {
            guard let found = try store.objectLookup(repository: repository, branch: expr.base, path: path) else {
                throw EngineError.repositoryNotFound(repository)
            }
            if let branch = found.branch {
                if let staged = found.staged {
                    guard let e = staged.entry else { throw EngineError.objectNotFound(path) }
                    return (found.repository, e)
                }
                let head = try loadCommit(branch.headCommitID, repository: repository)
                guard let e = try trees.lookup(path, inMetarange: head.metarangeID) else { throw EngineError.objectNotFound(path) }
                return (found.repository, e)
            }
        }
        let commit = try resolveCommit(repository: repository, ref: ref)
        guard let e = try trees.lookup(path, inMetarange: commit.metarangeID) else { throw EngineError.objectNotFound(path) }
        return (withRepository ? try requireRepository(repository) : nil, e)
    }

    /// Lists objects under `prefix` in path order, strictly after `after`. With a delimiter,
    /// paths that share the prefix up to the next delimiter collapse into one common-prefix row.
    public func listObjects(repository: String, ref: String, prefix: String = "", delimiter: String = "",
                            after: String = "", amount: Int = 1000) throws -> Page<ListRow> {
        try Self.checkAmount(amount)
        let resolved = try resolve(repository: repository, ref: ref)
        var entries = try BranchView(engine: self, resolved: resolved, prefix: prefix, from: after.isEmpty ? nil : after)
        var grouper = DelimiterGrouper(prefix: prefix, delimiter: delimiter, after: after)
        var rows: [ListRow] = []
        while rows.count <= amount, let e = try entries.next() {
            let key = grouper.rowKey(for: e.path)
            if let key {
                rows.append(ListRow(path: key.path, isCommonPrefix: key.isPrefix, entry: key.isPrefix ? nil : e))
            }
            // Everything else under a common prefix folds into its row: jump past it instead
            // of reading it (1,000 prefixes of 1,000 objects cost 1,000 seeks, not 1M entries).
            if let group = key.flatMap({ $0.isPrefix ? $0.path : nil }) ?? grouper.commonPrefix(of: e.path),
               let next = pathSuccessor(ofPrefix: group) {
                try entries.seek(to: next)
            }
        }
        return .from(rows, amount: amount)
    }
}

/// The entries a ref shows, in path order: the committed tree, overlaid with the branch's
/// staged changes when the ref is a bare branch name.
struct BranchView {
    let engine: VersioningEngine
    let resolved: ResolvedRef
    var tree: TreeCursor
    var staging: StagingIterator?
    var nextStaged: Change??
    let prefix: String

    init(engine: VersioningEngine, resolved: ResolvedRef, prefix: String, from: String?) throws {
        let start = from.map { comparePaths($0, prefix) > 0 ? $0 : prefix } ?? prefix
        self.engine = engine
        self.resolved = resolved
        tree = try TreeCursor(tree: engine.trees, metarangeID: resolved.commit.metarangeID, from: start)
        if let branch = resolved.branch {
            staging = StagingIterator(store: engine.store, tokens: branch.readTokens, prefix: prefix, from: start)
        }
        self.prefix = prefix
    }

    /// Continues from the first path >= `key` (a forward jump).
    mutating func seek(to key: String) throws {
        self = try BranchView(engine: engine, resolved: resolved, prefix: prefix, from: key)
    }

    mutating func next() throws -> Entry? {
        while true {
            var committed = try tree.peek()
            if let c = committed, !prefix.isEmpty, !c.hasPrefix(prefix) { committed = nil }
            if staging != nil, nextStaged == nil { nextStaged = .some(try staging!.next()) }
            let staged = nextStaged ?? nil
            switch (committed, staged) {
            case (nil, nil):
                return nil
            case let (c?, nil):
                tree.advance()
                return try c.entry()
            case let (c?, s?) where c.compare(s.path) < 0:
                tree.advance()
                return try c.entry()
            case let (c, s?):
                if let c, c.compare(s.path) == 0 { tree.advance() }
                nextStaged = nil
                if let e = s.entry { return e }
            }
        }
    }
}

/// The smallest path after every path that starts with `prefix`: the prefix with its last
/// byte incremented. Nil when that byte is not ASCII below DEL (the result would not be valid
/// UTF-8); callers then read on instead of jumping.
func pathSuccessor(ofPrefix prefix: String) -> String? {
    var bytes = Array(prefix.utf8)
    guard let last = bytes.last, last < 0x7E else { return nil }
    bytes[bytes.count - 1] = last + 1
    return String(decoding: bytes, as: UTF8.self)
}

/// Turns paths into listing rows: with a delimiter, everything below `prefix` + `name` +
/// `delimiter` becomes one common-prefix row. Skips rows at or before `after`.
struct DelimiterGrouper {
    let prefix: String
    let delimiter: String
    let after: String
    var lastPrefix: String?
    /// Rows come in ascending order: once one is past `after`, all the rest are.
    var pastAfter: Bool

    init(prefix: String, delimiter: String, after: String) {
        self.prefix = prefix
        self.delimiter = delimiter
        self.after = after
        pastAfter = after.isEmpty
    }

    /// The common prefix `path` folds into (prefix + next part + delimiter), if any.
    func commonPrefix(of path: String) -> String? {
        guard !delimiter.isEmpty else { return nil }
        let rest = Array(path.utf8.dropFirst(prefix.utf8.count))
        guard let r = rest.firstRange(of: Array(delimiter.utf8)) else { return nil }
        return prefix + String(decoding: rest[..<r.upperBound], as: UTF8.self)
    }

    mutating func rowKey(for path: String) -> (path: String, isPrefix: Bool)? {
        let group = commonPrefix(of: path)
        let key = group ?? path
        let isPrefix = group != nil
        if !pastAfter {
            if comparePaths(key, after) <= 0 { return nil }
            pastAfter = true
        }
        if isPrefix {
            if let last = lastPrefix, pathsEqual(last, key) { return nil }
            lastPrefix = key
        }
        return (key, isPrefix)
    }
}
