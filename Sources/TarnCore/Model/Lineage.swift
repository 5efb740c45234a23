import Foundation

/// A recorded run (training, evaluation, ETL): what it read, pinned to commit IDs when it
/// started, and what it produced. The lineage queries walk these.
public struct LineageRun: Sendable, Hashable {
    public enum Status: String, Sendable, CaseIterable { case running, completed, failed }

    public var id: String
    public var name: String
    public var status: Status
    public var startedAt: Date
    public var endedAt: Date?
    public var externalIDs: [String: String]
    public var params: [String: String]
    public var metrics: [String: Double]
    public var inputs: [PinnedInput]
    public var outputs: [RunOutput]

    public init(id: String, name: String, status: Status, startedAt: Date, endedAt: Date? = nil, externalIDs: [String: String] = [:],
                params: [String: String] = [:], metrics: [String: Double] = [:], inputs: [PinnedInput] = [], outputs: [RunOutput] = []) {
        self.id = id
        self.name = name
        self.status = status
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.externalIDs = externalIDs
        self.params = params
        self.metrics = metrics
        self.inputs = inputs
        self.outputs = outputs
    }
}

/// One input of a run: the ref the user named and the commit it resolved to when the run
/// started; `path` is an object or a prefix ("" for the whole commit).
public struct PinnedInput: Sendable, Hashable {
    public var uri: String
    public var repository: String
    public var ref: String
    public var commitID: String
    public var path: String

    public init(uri: String, repository: String, ref: String, commitID: String, path: String) {
        self.uri = uri
        self.repository = repository
        self.ref = ref
        self.commitID = commitID
        self.path = path
    }
}

/// One output of a run: a commit in Tarn (`repository` and `commitID` set) or an external
/// artifact known only by its URI.
public struct RunOutput: Sendable, Hashable {
    public var uri: String
    public var repository: String?
    public var commitID: String?
    public var path: String

    public init(uri: String, repository: String? = nil, commitID: String? = nil, path: String = "") {
        self.uri = uri
        self.repository = repository
        self.commitID = commitID
        self.path = path
    }
}

/// Which runs a listing returns.
public struct LineageRunFilter: Sendable {
    public var name: String?
    public var status: LineageRun.Status?
    /// Runs that read from or wrote to this repository.
    public var repository: String?
    /// Runs with an input pinned to this commit.
    public var inputCommit: String?
    /// Runs started at or after this time.
    public var since: Date?
    /// Runs started or ended at or after this time (what an event feed since then shows).
    public var activeSince: Date?

    public init(name: String? = nil, status: LineageRun.Status? = nil, repository: String? = nil, inputCommit: String? = nil, since: Date? = nil,
                activeSince: Date? = nil) {
        self.name = name
        self.status = status
        self.repository = repository
        self.inputCommit = inputCommit
        self.since = since
        self.activeSince = activeSince
    }
}
