/// A repository: a named history over one storage namespace.
public struct Repository: Sendable, Hashable {
    public var name: String
    public var storageNamespace: String
    public var defaultBranch: String
    /// Unix seconds.
    public var createdAt: Int64

    public init(name: String, storageNamespace: String, defaultBranch: String, createdAt: Int64) {
        self.name = name
        self.storageNamespace = storageNamespace
        self.defaultBranch = defaultBranch
        self.createdAt = createdAt
    }
}

/// A branch: a movable head plus its staging area. Writes land under `stagingToken`; a commit
/// in progress has moved the previous token into `sealedTokens` (newest first), which reads
/// still overlay until the commit lands.
public struct Branch: Sendable, Hashable {
    public var name: String
    public var headCommitID: String
    public var stagingToken: Int64
    public var sealedTokens: [Int64]

    public init(name: String, headCommitID: String, stagingToken: Int64, sealedTokens: [Int64] = []) {
        self.name = name
        self.headCommitID = headCommitID
        self.stagingToken = stagingToken
        self.sealedTokens = sealedTokens
    }

    /// Tokens to consult for a read, newest first: the first one holding a path wins.
    public var readTokens: [Int64] { [stagingToken] + sealedTokens }
}

public struct Tag: Sendable, Hashable {
    public var name: String
    public var commitID: String

    public init(name: String, commitID: String) {
        self.name = name
        self.commitID = commitID
    }
}
