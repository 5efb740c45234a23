/// Branch protection: branches matching a repository's glob patterns accept no direct writes
/// (uploads, deletes, commits, resets, hard resets); changes reach them through merges (and
/// reverts, which lakeFS also allows).
extension VersioningEngine {
    /// The patterns and their version (0 before any were set).
    public func branchProtection(repository: String) throws -> (patterns: [String], version: Int64) {
        try store.branchProtection(repository: repository)
    }

    /// Replaces the whole list. With `ifVersion`, only if the stored list is still that version
    /// (`preconditionFailed` otherwise). Returns the new version.
    @discardableResult
    public func setBranchProtection(repository: String, patterns: [String], ifVersion: Int64? = nil) throws -> Int64 {
        for p in patterns where p.isEmpty || p.utf8.count > 256 {
            throw EngineError.invalidArgument("branch protection pattern must be 1 to 256 bytes: \(p)")
        }
        defer { protectionPatterns.withLock { _ = $0.removeValue(forKey: repository) } }
        guard let version = try store.setBranchProtection(repository: repository, patterns: patterns, expectedVersion: ifVersion) else {
            throw EngineError.preconditionFailed("branch protection rules changed since they were read")
        }
        return version
    }

    /// Throws `protectedBranch` when a rule covers `branch`.
    func requireUnprotected(_ repository: String, _ branch: String, action: String) throws {
        let patterns: [String]
        if let cached = protectionPatterns.withLock({ $0[repository] }) {
            patterns = cached
        } else {
            patterns = (try? store.branchProtection(repository: repository).patterns) ?? []
            protectionPatterns.withLock { $0[repository] = patterns }
        }
        if patterns.contains(where: { Glob.matches($0, branch) }) {
            throw EngineError.protectedBranch(branch: branch, action: action)
        }
    }

    /// Forgets a repository's cached patterns (it was deleted or recreated).
    func forgetProtection(_ repository: String) {
        protectionPatterns.withLock { _ = $0.removeValue(forKey: repository) }
    }
}

/// `*` (any run of characters) and `?` (one character) over whole names, as lakeFS's
/// branch protection patterns are matched.
enum Glob {
    static func matches(_ pattern: String, _ name: String) -> Bool {
        let p = Array(pattern), n = Array(name)
        var pi = 0, ni = 0
        var star = -1, mark = 0
        while ni < n.count {
            if pi < p.count && (p[pi] == "?" || p[pi] == n[ni]) {
                pi += 1; ni += 1
            } else if pi < p.count && p[pi] == "*" {
                star = pi; mark = ni; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; ni = mark
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}
