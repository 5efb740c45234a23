/// Every way a versioning operation can fail. The REST and S3 layers map these to status codes
/// and error codes in one table each; nothing above TarnCore invents its own failure for these cases.
public enum EngineError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A repository, branch, tag, or tag name that breaks the naming rules.
    case invalidName(kind: String, name: String)
    /// Malformed input other than a name (a bad ref expression, a bad amount, a bad strategy...).
    case invalidArgument(String)
    case repositoryNotFound(String)
    case branchNotFound(String)
    case tagNotFound(String)
    case commitNotFound(String)
    /// A ref expression that names nothing (no branch, tag or commit matches).
    case refNotFound(String)
    case objectNotFound(String)
    /// A commit-ID prefix that matches more than one commit.
    case ambiguousRef(String)
    case alreadyExists(kind: String, name: String)
    /// The storage namespace is already used by another repository.
    case namespaceInUse(String)
    /// Deleting the default branch, writing to a commit, `branch@` where a branch is needed...
    case notAllowed(String)
    /// A write to a branch that a protection rule covers.
    case protectedBranch(branch: String, action: String)
    /// An update conditioned on a version that is no longer current (If-Match).
    case preconditionFailed(String)
    /// A `pre-*` hook failed or timed out: the operation was not made. The message names the
    /// run, the action, the hook and the reason.
    case hookAborted(String)
    /// The destination of a merge (or a revert / cherry-pick target) has uncommitted changes.
    case dirtyBranch(String)
    /// Nothing to commit or merge, and the caller did not allow an empty commit.
    case noChanges
    /// Three-way merge found paths changed differently on both sides.
    case conflict(paths: [String])
    /// A compare-and-swap on a branch kept losing to concurrent updates.
    case concurrentUpdate(branch: String)
    /// Stored bytes that do not decode: a bug or a damaged database.
    case corrupt(String)
    /// The metadata store failed (I/O, SQL error...).
    case storage(String)

    public var description: String {
        switch self {
        case let .invalidName(kind, name): return "invalid \(kind) name: \(name)"
        case let .invalidArgument(message): return "invalid argument: \(message)"
        case let .repositoryNotFound(name): return "repository not found: \(name)"
        case let .branchNotFound(name): return "branch not found: \(name)"
        case let .tagNotFound(name): return "tag not found: \(name)"
        case let .commitNotFound(id): return "commit not found: \(id)"
        case let .refNotFound(ref): return "reference not found: \(ref)"
        case let .objectNotFound(path): return "object not found: \(path)"
        case let .ambiguousRef(ref): return "ambiguous reference: \(ref)"
        case let .alreadyExists(kind, name): return "\(kind) already exists: \(name)"
        case let .namespaceInUse(ns): return "storage namespace already in use: \(ns)"
        case let .notAllowed(message): return "operation not allowed: \(message)"
        case let .protectedBranch(branch, action): return "cannot \(action) protected branch \(branch)"
        case let .preconditionFailed(message): return "precondition failed: \(message)"
        case let .hookAborted(message): return message
        case let .dirtyBranch(name): return "branch has uncommitted changes: \(name)"
        case .noChanges: return "no changes"
        case let .conflict(paths): return "conflict on \(paths.count) path(s): \(paths.prefix(10).joined(separator: ", "))"
        case let .concurrentUpdate(branch): return "too many concurrent updates on branch \(branch)"
        case let .corrupt(message): return "corrupt metadata: \(message)"
        case let .storage(message): return "metadata store error: \(message)"
        }
    }
}
