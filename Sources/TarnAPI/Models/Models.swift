import TarnCatalog
import TarnCore

// JSON shapes of the lakeFS API (`api/swagger.yml` components.schemas; wire contract §1.4).
// Field names are the wire's snake_case; clients validate them strictly (pydantic), so every
// required field is always present and never null.

struct Pagination: Codable, Sendable {
    var has_more: Bool
    var next_offset: String
    var results: Int
    var max_per_page: Int

    static let maxPerPage = 1000
}

struct ListResponse<Item: Codable & Sendable>: Codable, Sendable {
    var pagination: Pagination
    var results: [Item]

    init(_ items: [Item], hasMore: Bool, offset: (Item) -> String) {
        results = items
        pagination = Pagination(has_more: hasMore, next_offset: hasMore ? items.last.map(offset) ?? "" : "",
                                results: items.count, max_per_page: Pagination.maxPerPage)
    }
}

struct RepositoryJSON: Codable, Sendable {
    var id: String
    var creation_date: Int64
    var default_branch: String
    var storage_namespace: String
    var storage_id: String
    var read_only: Bool

    init(_ r: Repository) {
        id = r.name
        creation_date = r.createdAt
        default_branch = r.defaultBranch
        storage_namespace = r.storageNamespace
        storage_id = ""
        read_only = false
    }
}

struct RepositoryCreation: Codable, Sendable {
    var name: String
    var storage_namespace: String
    var default_branch: String?
}

struct RefJSON: Codable, Sendable {
    var id: String
    var commit_id: String
}

struct BranchCreation: Codable, Sendable {
    var name: String
    var source: String
}

struct CommitJSON: Codable, Sendable {
    var id: String
    var parents: [String]
    var committer: String
    var message: String
    var creation_date: Int64
    var meta_range_id: String
    var metadata: [String: String]
    var generation: Int64
    var version: Int

    init(_ c: Commit) {
        id = c.id
        parents = c.parents
        committer = c.committer
        message = c.message
        creation_date = c.createdAt
        meta_range_id = c.metarangeID
        metadata = c.metadata
        generation = c.generation
        version = 1
    }
}

struct CommitCreation: Codable, Sendable {
    var message: String
    var metadata: [String: String]?
    var date: Int64?
    var allow_empty: Bool?
}

struct ObjectStatsJSON: Codable, Sendable {
    var path: String
    var path_type: String
    var physical_address: String
    var checksum: String
    var size_bytes: Int64
    var mtime: Int64
    var metadata: [String: String]
    var content_type: String

    init(entry: Entry, physicalAddress: String) {
        path = entry.path
        path_type = "object"
        physical_address = physicalAddress
        checksum = entry.checksum
        size_bytes = entry.size
        mtime = entry.mtime
        metadata = entry.metadata
        content_type = entry.contentType
    }

    /// A common-prefix row carries zero values, as the Go server emits them.
    init(commonPrefix: String) {
        path = commonPrefix
        path_type = "common_prefix"
        physical_address = ""
        checksum = ""
        size_bytes = 0
        mtime = 0
        metadata = [:]
        content_type = ""
    }
}

struct DiffJSON: Codable, Sendable {
    var type: String
    var path: String
    var path_type: String
    var size_bytes: Int64?

    init(_ row: DiffRow) {
        path = row.path
        path_type = row.isCommonPrefix ? "common_prefix" : "object"
        type = row.isCommonPrefix ? "prefix_changed" : row.kind.rawValue
        size_bytes = (row.right ?? row.left)?.size
    }
}

struct MergeCreation: Codable, Sendable {
    var message: String?
    var metadata: [String: String]?
    var strategy: String?
    var allow_empty: Bool?
    var squash_merge: Bool?
}

struct MergeResultJSON: Codable, Sendable {
    var reference: String
}

struct MergeBaseJSON: Codable, Sendable {
    var source_commit_id: String
    var destination_commit_id: String
    var base_commit_id: String
}

struct TagCreation: Codable, Sendable {
    var id: String
    var ref: String
}

struct ResetCreation: Codable, Sendable {
    var type: String
    var path: String?
}

struct RevertCreation: Codable, Sendable {
    var ref: String
    var parent_number: Int?
    var allow_empty: Bool?
}

struct CherryPickCreation: Codable, Sendable {
    var ref: String
    var parent_number: Int?
}

struct PathList: Codable, Sendable {
    var paths: [String]
}

struct ObjectErrorJSON: Codable, Sendable {
    var status_code: Int
    var message: String
    var path: String?
}

struct ObjectErrorList: Codable, Sendable {
    var errors: [ObjectErrorJSON]
}

struct ObjectCopyCreation: Codable, Sendable {
    var src_path: String
    var src_ref: String?
}

/// lakeFS's `ImportCreation`. `force` (import onto a protected branch in lakeFS Cloud) is
/// accepted and has no effect: protected branches refuse imports like any commit.
struct ImportCreation: Codable, Sendable {
    struct Location: Codable, Sendable {
        var type: String
        var path: String
        var destination: String
    }

    var paths: [Location]
    var commit: CommitCreation
    var force: Bool?
}

struct ImportCreationResponse: Codable, Sendable {
    var id: String
}

/// lakeFS's `ImportStatus`: `update_time` as an RFC 3339 string, `commit` and `metarange_id`
/// once completed, `error` once failed or cancelled.
struct ImportStatusJSON: Codable, Sendable {
    struct ErrorJSON: Codable, Sendable {
        var message: String
    }

    var completed: Bool
    var update_time: String
    var ingested_objects: Int
    var metarange_id: String?
    var commit: CommitJSON?
    var error: ErrorJSON?

    init(_ s: ImportStatus) {
        completed = s.completed
        update_time = HTTPDate.iso8601(s.updatedAt)
        ingested_objects = s.ingestedObjects
        metarange_id = s.commit?.metarangeID
        commit = s.commit.map(CommitJSON.init)
        error = s.error.map { ErrorJSON(message: $0) }
    }
}
