extension VersioningEngine {
    @discardableResult
    public func createTag(repository: String, name: String, ref: String) throws -> Tag {
        try Names.validateTag(name)
        let commit = try resolveCommit(repository: repository, ref: ref)
        let tag = Tag(name: name, commitID: commit.id)
        try store.createTag(repository: repository, tag: tag)
        return tag
    }

    public func tag(repository: String, name: String) throws -> Tag {
        guard let tag = try store.tag(repository: repository, name: name) else {
            _ = try requireRepository(repository)
            throw EngineError.tagNotFound(name)
        }
        return tag
    }

    public func listTags(repository: String, prefix: String = "", after: String = "", amount: Int = 100) throws -> Page<Tag> {
        try Self.checkAmount(amount)
        _ = try requireRepository(repository)
        return .from(try store.listTags(repository: repository, prefix: prefix, after: after, limit: amount + 1), amount: amount)
    }

    public func deleteTag(repository: String, name: String) throws {
        _ = try tag(repository: repository, name: name)
        try store.deleteTag(repository: repository, name: name)
    }
}
