import Foundation

/// The events actions can hook, named as lakeFS names them in action files (`on: pre-merge:`).
public enum HookEventType: String, Sendable, CaseIterable, Codable {
    case preCommit = "pre-commit", postCommit = "post-commit"
    case preMerge = "pre-merge", postMerge = "post-merge"
    case preCreateBranch = "pre-create-branch", postCreateBranch = "post-create-branch"
    case preDeleteBranch = "pre-delete-branch", postDeleteBranch = "post-delete-branch"
    case preCreateTag = "pre-create-tag", postCreateTag = "post-create-tag"
    case preDeleteTag = "pre-delete-tag", postDeleteTag = "post-delete-tag"
    case preRevert = "pre-revert", postRevert = "post-revert"
    case preCherryPick = "pre-cherry-pick", postCherryPick = "post-cherry-pick"

    /// `pre-*` events can abort the operation; `post-*` failures are only recorded.
    public var isPre: Bool { rawValue.hasPrefix("pre-") }

    /// Tag events carry no branch, so action files may not filter them by branch.
    public var isTagEvent: Bool { rawValue.hasSuffix("-tag") }

    /// The `post-*` event that follows this `pre-*` one.
    public var post: HookEventType {
        HookEventType(rawValue: "post-" + rawValue.dropFirst(4)) ?? self
    }
}

/// What one event is about: the fields lakeFS's webhooks send (`EventInfo`), filled as far as
/// the event has them. `sourceRef` is the ref the action files are read from.
public struct HookEvent: Sendable {
    public var type: HookEventType
    public var time: Date
    public var repository: String
    public var branch: String
    public var sourceRef: String
    public var commitID: String
    public var commitMessage: String
    public var committer: String
    public var commitMetadata: [String: String]
    public var tagID: String
    public var mergeSource: String

    public init(type: HookEventType, time: Date = Date(), repository: String, branch: String = "", sourceRef: String,
                commitID: String = "", commitMessage: String = "", committer: String = "",
                commitMetadata: [String: String] = [:], tagID: String = "", mergeSource: String = "") {
        self.type = type
        self.time = time
        self.repository = repository
        self.branch = branch
        self.sourceRef = sourceRef
        self.commitID = commitID
        self.commitMessage = commitMessage
        self.committer = committer
        self.commitMetadata = commitMetadata
        self.tagID = tagID
        self.mergeSource = mergeSource
    }

    /// The same event as its `post-*` counterpart, with the commit the operation made.
    public func after(commit: Commit? = nil) -> HookEvent {
        var e = self
        e.type = type.post
        e.time = Date()
        if let commit {
            e.commitID = commit.id
            e.commitMessage = commit.message
            e.committer = commit.committer
            e.commitMetadata = commit.metadata
        }
        return e
    }
}

/// One recorded action run: every action an event triggered, as one unit (lakeFS's `ActionRun`).
public struct ActionRun: Sendable, Hashable {
    public var id: String
    public var repository: String
    /// The branch the event concerns (for a merge, the destination); empty for tag events.
    public var branch: String
    public var commitID: String
    public var sourceRef: String
    public var eventType: String
    public var startedAt: Date
    public var endedAt: Date
    public var passed: Bool

    public init(id: String, repository: String, branch: String, commitID: String, sourceRef: String, eventType: String,
                startedAt: Date, endedAt: Date, passed: Bool) {
        self.id = id
        self.repository = repository
        self.branch = branch
        self.commitID = commitID
        self.sourceRef = sourceRef
        self.eventType = eventType
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.passed = passed
    }
}

/// One hook's run inside an action run, with what it printed or answered.
public struct HookRun: Sendable, Hashable {
    public var id: String
    public var runID: String
    public var action: String
    public var hookID: String
    public var startedAt: Date
    public var endedAt: Date
    public var passed: Bool
    /// The request and response of a webhook, or an exec hook's exit status, stdout and
    /// stderr; truncated to a limit.
    public var output: String

    public init(id: String, runID: String, action: String, hookID: String, startedAt: Date, endedAt: Date, passed: Bool, output: String) {
        self.id = id
        self.runID = runID
        self.action = action
        self.hookID = hookID
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.passed = passed
        self.output = output
    }
}

/// A file read from the ref an event concerns (`_lakefs_actions/…`, `_tarn_actions/…`).
public struct ActionSource: Sendable {
    public var path: String
    public var bytes: [UInt8]

    public init(path: String, bytes: [UInt8]) {
        self.path = path
        self.bytes = bytes
    }
}

/// What an event's actions did. `run` is nil when no action matched the event.
public struct HookOutcome: Sendable {
    public var run: ActionRun?
    public var hooks: [HookRun]
    /// Why the run failed, naming the action and the hook: the message a client gets.
    public var failure: String?

    public init(run: ActionRun?, hooks: [HookRun], failure: String?) {
        self.run = run
        self.hooks = hooks
        self.failure = failure
    }

    public static let none = HookOutcome(run: nil, hooks: [], failure: nil)
}

/// Runs the actions an event triggers. The catalog calls it at every pre and post point,
/// with the action files it read from the event's source ref; the implementation (TarnActions)
/// parses them, picks the matching ones and runs their hooks.
public protocol HookRunner: Sendable {
    func run(_ event: HookEvent, sources: [ActionSource]) async -> HookOutcome
}
