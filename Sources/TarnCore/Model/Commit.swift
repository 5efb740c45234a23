/// An immutable commit. Its ID is the SHA-256 of `canonicalBytes`, so equal commits have equal
/// IDs and any change to a field (or to the tree it points at) gives a new ID.
public struct Commit: Sendable, Hashable {
    public var id: String
    public var parents: [String]
    public var metarangeID: String
    public var message: String
    public var committer: String
    /// Unix seconds.
    public var createdAt: Int64
    public var metadata: [String: String]
    /// 1 for a root commit, otherwise one more than the highest parent generation.
    public var generation: Int64

    /// A new commit; its ID is computed from the fields.
    public init(parents: [String], metarangeID: String, message: String, committer: String,
                createdAt: Int64, metadata: [String: String], generation: Int64) {
        self.init(id: "", parents: parents, metarangeID: metarangeID, message: message, committer: committer,
                  createdAt: createdAt, metadata: metadata, generation: generation)
        id = ContentHash.sha256Hex(canonicalBytes)
    }

    /// Restores a stored commit without recomputing its ID.
    public init(id: String, parents: [String], metarangeID: String, message: String, committer: String,
                createdAt: Int64, metadata: [String: String], generation: Int64) {
        self.id = id
        self.parents = parents
        self.metarangeID = metarangeID
        self.message = message
        self.committer = committer
        self.createdAt = createdAt
        self.metadata = metadata
        self.generation = generation
    }

    /// Version byte, then every field length-prefixed in a fixed order, metadata keys sorted.
    public var canonicalBytes: [UInt8] {
        var w = ByteWriter(capacity: 256)
        w.string("tarn-commit-v1")
        w.uvarint(UInt64(parents.count))
        for p in parents { w.string(p) }
        w.string(metarangeID)
        w.string(message)
        w.string(committer)
        w.varint(createdAt)
        w.stringMap(metadata)
        w.varint(generation)
        return w.bytes
    }
}
