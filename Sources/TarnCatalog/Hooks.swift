import Foundation
import TarnBlock
import TarnCore
import TarnLineage

/// The operations that fire actions, and how: read the action files from the event's source
/// ref, run the `pre-*` event (a failure refuses the operation with `hookAborted`, nothing
/// changed), do the operation, run the `post-*` event (a failure is recorded, not returned).
/// Commits, merges, reverts and cherry-picks run their pre-event inside the engine's gate, so
/// the hooks see the commit ID that will be created while the branch is still where it was.
extension Catalog {
    /// Folders action files are read from, lakeFS's first.
    static let actionFolders = ["_lakefs_actions/", "_tarn_actions/"]
    static let maxActionFileBytes: Int64 = 1 << 20

    /// Commits a branch's staged changes (on the blocking pool), with pre/post-commit hooks.
    /// A commit whose metadata names a lineage run (`tarn.run_id`) becomes an output of that
    /// run; the run must exist.
    public func commit(repository: String, branch: String, _ options: CommitOptions) async throws -> Commit {
        let runID = options.metadata[Lineage.runIDKey]
        if let runID { _ = try lineage.run(id: runID) }
        let sources = try await actionSources(repository: repository, ref: branch)
        let event = HookEvent(type: .preCommit, repository: repository, branch: branch, sourceRef: branch,
                              commitMessage: options.message, committer: options.committer, commitMetadata: options.metadata)
        return try await gatedHooks(event, sources) { engine, gate in
            try engine.commit(repository: repository, branch: branch, options, gate: gate)
        } then: { [self] commit in
            CatalogMetrics.commits.increment()
            if let runID { try lineage.recordCommit(runID: runID, repository: repository, commitID: commit.id) }
        }
    }

    /// Merges `source` into the branch `destination` (on the blocking pool), with pre/post-merge
    /// hooks. The action files come from the source commit, as lakeFS reads them.
    public func merge(repository: String, source: String, into destination: String, _ options: MergeOptions) async throws -> Commit {
        let sourceCommit = try engine.resolveCommit(repository: repository, ref: source)
        var options = options
        if options.message == nil { options.message = "Merge '\(source)' into '\(destination)'" }
        let sources = try await actionSources(repository: repository, ref: sourceCommit.id)
        let event = HookEvent(type: .preMerge, repository: repository, branch: destination, sourceRef: sourceCommit.id,
                              commitMessage: options.message ?? "", committer: options.committer,
                              commitMetadata: options.metadata, mergeSource: source)
        let settled = options
        return try await gatedHooks(event, sources) { engine, gate in
            try engine.merge(repository: repository, source: sourceCommit.id, into: destination, settled, gate: gate)
        } then: { _ in CatalogMetrics.merges.increment() }
    }

    public func revert(repository: String, branch: String, ref: String, parentNumber: Int, committer: String,
                       message: String?, allowEmpty: Bool) async throws -> Commit {
        let sources = try await actionSources(repository: repository, ref: branch)
        let event = HookEvent(type: .preRevert, repository: repository, branch: branch, sourceRef: ref, committer: committer)
        return try await gatedHooks(event, sources) { engine, gate in
            try engine.revert(repository: repository, branch: branch, ref: ref, parentNumber: parentNumber, committer: committer,
                              message: message, allowEmpty: allowEmpty, gate: gate)
        }
    }

    public func cherryPick(repository: String, branch: String, ref: String, parentNumber: Int, committer: String) async throws -> Commit {
        let sources = try await actionSources(repository: repository, ref: branch)
        let event = HookEvent(type: .preCherryPick, repository: repository, branch: branch, sourceRef: ref, committer: committer)
        return try await gatedHooks(event, sources) { engine, gate in
            try engine.cherryPick(repository: repository, branch: branch, ref: ref, parentNumber: parentNumber, committer: committer, gate: gate)
        }
    }

    /// Creates a branch; the hooks read their files from the commit it starts at.
    public func createBranch(repository: String, name: String, from source: String) async throws -> Branch {
        let start = try engine.resolveCommit(repository: repository, ref: source)
        let sources = try await actionSources(repository: repository, ref: start.id)
        let event = HookEvent(type: .preCreateBranch, repository: repository, branch: name, sourceRef: start.id, commitID: start.id)
        try Names.validateBranch(name)
        return try await aroundHooks(event, sources) { try engine.createBranch(repository: repository, name: name, from: start.id) }
    }

    public func deleteBranch(repository: String, name: String) async throws {
        let branch = try engine.branch(repository: repository, name: name)
        let sources = try await actionSources(repository: repository, ref: branch.headCommitID)
        let event = HookEvent(type: .preDeleteBranch, repository: repository, branch: name, sourceRef: name, commitID: branch.headCommitID)
        try await aroundHooks(event, sources) { try engine.deleteBranch(repository: repository, name: name) }
    }

    public func createTag(repository: String, name: String, ref: String) async throws -> Tag {
        let target = try engine.resolveCommit(repository: repository, ref: ref)
        let sources = try await actionSources(repository: repository, ref: target.id)
        let event = HookEvent(type: .preCreateTag, repository: repository, sourceRef: target.id, commitID: target.id, tagID: name)
        try Names.validateTag(name)
        return try await aroundHooks(event, sources) { try engine.createTag(repository: repository, name: name, ref: target.id) }
    }

    public func deleteTag(repository: String, name: String) async throws {
        let tag = try engine.tag(repository: repository, name: name)
        let sources = try await actionSources(repository: repository, ref: tag.commitID)
        let event = HookEvent(type: .preDeleteTag, repository: repository, sourceRef: tag.commitID, commitID: tag.commitID, tagID: name)
        try await aroundHooks(event, sources) { try engine.deleteTag(repository: repository, name: name) }
    }

    // MARK: Running

    /// An operation that makes a commit, on the blocking pool, with its pre-event in the
    /// engine's gate (so the hooks see the commit to be made); then `then` with the commit,
    /// then the post-event.
    private func gatedHooks(_ event: HookEvent, _ sources: [ActionSource],
                            _ operation: @escaping @Sendable (VersioningEngine, CommitGate?) throws -> Commit,
                            then: (Commit) throws -> Void = { _ in }) async throws -> Commit {
        let commit = try await background { [self] engine in try operation(engine, gate(event, sources)) }
        try then(commit)
        await runPostHooks(event.after(commit: commit), sources)
        return commit
    }

    /// The pre-event, then `operation` if it passed, then the post-event: for operations that
    /// make no commit, whose hooks need not see one.
    private func aroundHooks<T>(_ event: HookEvent, _ sources: [ActionSource], _ operation: () throws -> T) async throws -> T {
        try await runPreHooks(event, sources)
        let result = try operation()
        await runPostHooks(event.after(), sources)
        return result
    }

    /// The action files at `ref`; empty (and no I/O beyond two listings) when there are none,
    /// or when the server runs no hooks.
    func actionSources(repository: String, ref: String) async throws -> [ActionSource] {
        guard hooks != nil else { return [] }
        var found: [Entry] = []
        for folder in Self.actionFolders {
            let page = try engine.listObjects(repository: repository, ref: ref, prefix: folder, amount: 1000)
            found += page.items.compactMap(\.entry).filter { $0.path.hasSuffix(".yaml") || $0.path.hasSuffix(".yml") }
        }
        var sources: [ActionSource] = []
        for entry in found {
            guard entry.size <= Self.maxActionFileBytes else {
                // Too large to be an action file someone meant: let the runner report it.
                sources.append(ActionSource(path: entry.path, bytes: Array("file larger than 1 MiB".utf8)))
                continue
            }
            let reader = try await open(entry, in: repository, range: nil)
            var bytes: [UInt8] = []
            for try await chunk in reader { bytes += chunk }
            sources.append(ActionSource(path: entry.path, bytes: bytes))
        }
        return sources
    }

    /// Runs a `pre-*` event and records it; throws `hookAborted` when it failed.
    func runPreHooks(_ event: HookEvent, _ sources: [ActionSource]) async throws {
        guard let hooks, !sources.isEmpty else { return }
        let outcome = await hooks.run(event, sources: sources)
        try record(outcome)
        if let failure = outcome.failure, let run = outcome.run {
            throw EngineError.hookAborted("\(event.type.rawValue) hook aborted, run id '\(run.id)': \(failure)")
        }
    }

    /// Runs a `post-*` event and records it; its failure does not undo the operation.
    func runPostHooks(_ event: HookEvent, _ sources: [ActionSource]) async {
        guard let hooks, !sources.isEmpty else { return }
        let outcome = await hooks.run(event, sources: sources)
        try? record(outcome)
    }

    private func record(_ outcome: HookOutcome) throws {
        if let run = outcome.run { try metadata.insertActionRun(run, hooks: outcome.hooks) }
    }

    /// The engine gate for `event`: runs the pre-event with the commit about to be made. The
    /// gate is called on a blocking-pool thread with the branch locked; it waits there for
    /// the hooks, which run on Swift's cooperative pool.
    private func gate(_ event: HookEvent, _ sources: [ActionSource]) -> CommitGate? {
        guard hooks != nil, !sources.isEmpty else { return nil }
        return { [self] commit in
            var e = event
            e.commitID = commit.id
            e.commitMessage = commit.message
            e.commitMetadata = commit.metadata
            let finished = DispatchSemaphore(value: 0)
            let result = ResultBox()
            let pre = e
            Task {
                do { try await self.runPreHooks(pre, sources) } catch { result.error = error }
                finished.signal()
            }
            finished.wait()
            if let error = result.error { throw error }
        }
    }
}

/// The outcome of hooks awaited on another thread (written before the semaphore is signalled,
/// read after it was waited for).
private final class ResultBox: @unchecked Sendable {
    var error: Error?
}
