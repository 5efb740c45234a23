import TarnCore

/// A run or hook run the actions API was asked for that is not recorded.
public enum ActionRunError: Error, Sendable, CustomStringConvertible {
    case runNotFound(String)
    case hookRunNotFound(run: String, hookRun: String)

    public var description: String {
        switch self {
        case let .runNotFound(id): return "action run not found: \(id)"
        case let .hookRunNotFound(run, hookRun): return "hook run not found: \(hookRun) in run \(run)"
        }
    }
}

/// The recorded action runs of a repository (written by `Hooks.swift`), newest first.
extension Catalog {
    public func actionRuns(repository: String, branch: String?, commitID: String?, after: String, amount: Int) throws -> Page<ActionRun> {
        .from(try metadata.listActionRuns(repository: repository, branch: branch, commitID: commitID, after: after, limit: amount + 1),
              amount: amount)
    }

    public func actionRun(repository: String, id: String) throws -> ActionRun {
        guard let run = try metadata.actionRun(repository: repository, id: id) else { throw ActionRunError.runNotFound(id) }
        return run
    }

    /// A run's hooks in the order they ran.
    public func hookRuns(repository: String, runID: String, after: String, amount: Int) throws -> Page<HookRun> {
        _ = try actionRun(repository: repository, id: runID)
        return .from(try metadata.listHookRuns(repository: repository, runID: runID, after: after, limit: amount + 1), amount: amount)
    }

    public func hookRun(repository: String, runID: String, hookRunID: String) throws -> HookRun {
        _ = try actionRun(repository: repository, id: runID)
        guard let hook = try metadata.hookRun(repository: repository, runID: runID, hookRunID: hookRunID) else {
            throw ActionRunError.hookRunNotFound(run: runID, hookRun: hookRunID)
        }
        return hook
    }
}
