import Foundation
import TarnCore
import TarnMetadata

/// One version of a dataset: a path (object, prefix, or "" for everything) at one commit.
public struct DatasetVersion: Sendable, Hashable {
    public var repository: String
    public var commitID: String
    public var path: String

    public init(repository: String, commitID: String, path: String) {
        self.repository = repository
        self.commitID = commitID
        self.path = path
    }

    public var uri: String { "lakefs://\(repository)/\(commitID)/\(path)" }
}

/// Where a dataset version came from: the runs that produced it, and recursively theirs.
public struct ProvenanceNode: Sendable {
    public var dataset: DatasetVersion
    public var producedBy: [Producer]

    public struct Producer: Sendable {
        public var run: LineageRun
        public var inputs: [ProvenanceNode]
    }
}

/// A run a dataset version reached: through which input, and the runs downstream that read
/// what it produced.
public struct ImpactNode: Sendable {
    public var run: LineageRun
    public var via: DatasetVersion
    public var downstream: [ImpactNode]
}

/// Runs, pinned inputs, outputs and the questions asked of them. Inputs are resolved to
/// commit IDs when a run starts, whatever ref the user named, so a run reads the same bytes
/// however its branches move later.
public final class Lineage: Sendable {
    let engine: VersioningEngine
    let store: SQLiteStore
    /// Called with each run start and finish (OpenLineage push); must not block.
    let onEvent: @Sendable (LineageRun, OpenLineage.EventType) -> Void
    let clock: @Sendable () -> Date

    public init(engine: VersioningEngine, store: SQLiteStore, clock: @escaping @Sendable () -> Date = { Date() },
                onEvent: @escaping @Sendable (LineageRun, OpenLineage.EventType) -> Void = { _, _ in }) {
        self.engine = engine
        self.store = store
        self.clock = clock
        self.onEvent = onEvent
    }

    /// The commit metadata key that ties a commit to the run that made it.
    public static let runIDKey = "tarn.run_id"

    // MARK: Runs

    /// Starts a run with its inputs pinned. Every ref is resolved, then resolved again: if a
    /// branch moved in between, the whole set is resolved anew, so the pinned commits are
    /// ones that were all heads at one moment. A ref that names nothing fails the start.
    public func start(name: String, externalIDs: [String: String] = [:], params: [String: String] = [:], inputs: [String]) throws -> LineageRun {
        guard !name.isEmpty, name.utf8.count <= 1024 else { throw LineageError.invalidArgument("a run needs a name of 1 to 1024 bytes") }
        let uris = try inputs.map { text -> LineageURI in
            guard let u = LineageURI(text) else { throw LineageError.invalidArgument("an input must be lakefs://REPO/REF[/PATH]: \(text)") }
            return u
        }
        var pinned = try resolve(uris)
        for _ in 0..<5 {
            let again = try resolve(uris)
            if again == pinned { break }
            pinned = again
        }
        let run = LineageRun(id: Self.newRunID(), name: name, status: .running, startedAt: clock(), externalIDs: externalIDs,
                             params: params,
                             inputs: zip(inputs, zip(uris, pinned)).map { text, pair in
                                 PinnedInput(uri: text, repository: pair.0.repository, ref: pair.0.ref, commitID: pair.1, path: pair.0.path)
                             })
        try store.insertLineageRun(run)
        onEvent(run, .start)
        return run
    }

    private func resolve(_ uris: [LineageURI]) throws -> [String] {
        try uris.map { try engine.resolveCommit(repository: $0.repository, ref: $0.ref).id }
    }

    /// Ends a run with its status, metrics and outputs. A `lakefs://` output is resolved to
    /// the commit it names now (what the run produced); anything else is kept as a URI.
    public func finish(id: String, status: LineageRun.Status, metrics: [String: Double] = [:], outputs: [String] = []) throws -> LineageRun {
        guard status != .running else { throw LineageError.invalidArgument("a run finishes as completed or failed") }
        let current = try run(id: id)
        let resolved = try outputs.map { try output($0) }
        guard try store.finishLineageRun(id: id, status: status, endedAt: clock(), metrics: metrics, outputs: resolved) else {
            throw LineageError.notRunning(id: id, status: current.status.rawValue)
        }
        let run = try run(id: id)
        onEvent(run, status == .completed ? .complete : .fail)
        return run
    }

    func output(_ text: String) throws -> RunOutput {
        guard !text.isEmpty else { throw LineageError.invalidArgument("empty output URI") }
        guard text.hasPrefix("lakefs://") else { return RunOutput(uri: text) }
        guard let u = LineageURI(text) else { throw LineageError.invalidArgument("not a lakefs://REPO/REF[/PATH] URI: \(text)") }
        let commit = try engine.resolveCommit(repository: u.repository, ref: u.ref)
        return RunOutput(uri: text, repository: u.repository, commitID: commit.id, path: u.path)
    }

    /// Records a commit made with the run's ID as one of its outputs.
    public func recordCommit(runID: String, repository: String, commitID: String) throws {
        _ = try run(id: runID)
        try store.addLineageOutputs(runID: runID, [RunOutput(uri: "lakefs://\(repository)/\(commitID)/", repository: repository, commitID: commitID)])
    }

    public func run(id: String) throws -> LineageRun {
        guard let run = try store.lineageRun(id: id) else { throw LineageError.runNotFound(id) }
        return run
    }

    /// Runs newest first; `after` is the last run ID of the previous page.
    public func runs(_ filter: LineageRunFilter, after: String, amount: Int) throws -> Page<LineageRun> {
        .from(try store.listLineageRuns(filter, before: after.isEmpty ? nil : after, limit: amount + 1), amount: amount)
    }

    public func delete(id: String) throws {
        guard try store.deleteLineageRun(id: id) else { throw LineageError.runNotFound(id) }
    }

    /// The commits of a repository that recorded runs read: what garbage collection must keep.
    public func pins(repository: String, after: String, amount: Int) throws -> Page<(commitID: String, runIDs: [String])> {
        _ = try engine.repository(repository)
        return .from(try store.lineagePins(repository: repository, after: after, limit: amount + 1), amount: amount)
    }

    // MARK: Queries

    /// The dataset version a URI names: its ref resolved to a commit.
    public func dataset(_ uri: String) throws -> DatasetVersion {
        guard let u = LineageURI(uri) else { throw LineageError.invalidArgument("expected lakefs://REPO/REF[/PATH]: \(uri)") }
        return DatasetVersion(repository: u.repository, commitID: try engine.resolveCommit(repository: u.repository, ref: u.ref).id, path: u.path)
    }

    /// The runs that produced `uri`'s dataset version (outputs recorded at its commit, or at the
    /// commit that last changed its path), their inputs, and the runs that produced those, to
    /// `depth` runs deep.
    public func provenance(of uri: String, depth: Int) throws -> ProvenanceNode {
        var seen: Set<String> = []
        return try provenance(try dataset(uri), depth: max(1, min(depth, 50)), seen: &seen)
    }

    private func provenance(_ d: DatasetVersion, depth: Int, seen: inout Set<String>) throws -> ProvenanceNode {
        var node = ProvenanceNode(dataset: d, producedBy: [])
        guard depth > 0 else { return node }
        var commits = [d.commitID]
        if let last = try lastChange(d), last != d.commitID { commits.append(last) }
        var producers: [String] = []
        for (runID, output) in try store.runsProducing(repository: d.repository, commitIDs: commits)
            where Self.overlaps(output.path, d.path) && !producers.contains(runID) {
            producers.append(runID)
        }
        for runID in producers where seen.insert(runID).inserted {
            guard let run = try store.lineageRun(id: runID) else { continue }
            var inputs: [ProvenanceNode] = []
            for input in run.inputs {
                let source = DatasetVersion(repository: input.repository, commitID: input.commitID, path: input.path)
                inputs.append(try provenance(source, depth: depth - 1, seen: &seen))
            }
            node.producedBy.append(.init(run: run, inputs: inputs))
        }
        return node
    }

    /// The commit, at or before the dataset's, that last changed its path; nil when the path
    /// is the whole commit or was never written.
    private func lastChange(_ d: DatasetVersion) throws -> String? {
        guard !d.path.isEmpty else { return nil }
        let isObject = (try? engine.getObject(repository: d.repository, ref: d.commitID, path: d.path)) != nil
        let page = try engine.log(repository: d.repository, ref: d.commitID, amount: 1,
                                  objects: isObject ? [d.path] : [], prefixes: isObject ? [] : [d.path])
        return page.items.first?.id
    }

    /// Every run whose pinned inputs contain the dataset version of `uri` and, downstream, the
    /// runs that read what those produced, to `depth` runs deep. For an object, an input
    /// contains it when the input's commit holds the same bytes (address and checksum) at that
    /// path — looked up in the input commit's immutable tree, one lookup per distinct commit —
    /// so a later rewrite of the path under the same name is not mistaken for it. For a
    /// prefix or a whole commit, the runs pinned to that very commit.
    public func impact(of uri: String, depth: Int) throws -> [ImpactNode] {
        try impact(of: try dataset(uri), depth: depth)
    }

    /// `impact(of:depth:)` of a dataset version already resolved (so the answer and the
    /// dataset it names cannot come from two resolutions of a moving branch).
    public func impact(of d: DatasetVersion, depth: Int) throws -> [ImpactNode] {
        let depth = max(1, min(depth, 50))
        var seen: Set<String> = []
        let object = d.path.isEmpty ? nil : try? engine.getObject(repository: d.repository, ref: d.commitID, path: d.path)
        var hits: [(String, DatasetVersion)] = []
        var contains: [String: Bool] = [:]
        for (runID, input) in try store.pinnedInputs(repository: d.repository) where !seen.contains(runID) {
            let hit: Bool
            if let object {
                guard input.path.isEmpty || d.path.hasPrefix(input.path) else { continue }
                if let known = contains[input.commitID] {
                    hit = known
                } else {
                    let e = input.commitID == d.commitID ? object : try engine.lookup(repository: d.repository, commitID: input.commitID, path: d.path)
                    hit = e.map { $0.physicalAddress == object.physicalAddress && $0.checksum == object.checksum } ?? false
                    contains[input.commitID] = hit
                }
            } else {
                hit = input.commitID == d.commitID && Self.overlaps(input.path, d.path)
            }
            if hit {
                seen.insert(runID)
                hits.append((runID, DatasetVersion(repository: input.repository, commitID: input.commitID, path: input.path)))
            }
        }
        return try hits.compactMap { runID, via in
            guard let run = try store.lineageRun(id: runID) else { return nil }
            return ImpactNode(run: run, via: via, downstream: try downstream(of: run, depth: depth - 1, seen: &seen))
        }
    }

    private func downstream(of run: LineageRun, depth: Int, seen: inout Set<String>) throws -> [ImpactNode] {
        guard depth > 0 else { return [] }
        var out: [ImpactNode] = []
        for o in run.outputs {
            guard let repo = o.repository, let commit = o.commitID else { continue }
            for id in try store.runsReading(repository: repo, commitID: commit) where seen.insert(id).inserted {
                guard let next = try store.lineageRun(id: id) else { continue }
                out.append(ImpactNode(run: next, via: DatasetVersion(repository: repo, commitID: commit, path: o.path),
                                      downstream: try downstream(of: next, depth: depth - 1, seen: &seen)))
            }
        }
        return out
    }

    /// Whether two paths (objects or prefixes, "" for everything) can name common objects.
    static func overlaps(_ a: String, _ b: String) -> Bool { a.isEmpty || b.isEmpty || a.hasPrefix(b) || b.hasPrefix(a) }

    /// A time-ordered UUID (version 7): run IDs sort in start order and are valid OpenLineage run IDs.
    static func newRunID() -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        let ms = UInt64(Date().timeIntervalSince1970 * 1000)
        for i in 0..<6 { bytes[i] = UInt8(truncatingIfNeeded: ms >> (8 * (5 - i))) }
        var rng = SystemRandomNumberGenerator()
        for i in 6..<16 { bytes[i] = UInt8.random(in: 0...255, using: &rng) }
        bytes[6] = (bytes[6] & 0x0F) | 0x70
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = bytes.map { String(format: "%02x", $0) }.joined()
        let c = Array(hex)
        return String(c[0..<8]) + "-" + String(c[8..<12]) + "-" + String(c[12..<16]) + "-" + String(c[16..<20]) + "-" + String(c[20..<32])
    }
}
