/// The schema migrations of the store's two files, in order. Their SQL lives in
/// `Schemas/sqlite/` (embedded into the binary at build time); a schema change is a new file
/// and a new line here, never an edit of an applied one.
enum Migrations {
    /// The refs file: repositories, branches, tags, commits, staging.
    static let refs: [(version: Int, name: String, sql: [UInt8])] = [
        (1, "0001_initial", PackageResources._001_initial_sql),
        (2, "0002_credentials", PackageResources._002_credentials_sql),
        (3, "0003_branch_protection", PackageResources._003_branch_protection_sql),
        (4, "0004_multipart_uploads", PackageResources._004_multipart_uploads_sql),
        (5, "0005_multipart_completed", PackageResources._005_multipart_completed_sql),
        (6, "0006_multipart_checksums", PackageResources._006_multipart_checksums_sql),
        (7, "0007_action_runs", PackageResources._007_action_runs_sql),
        (8, "0008_lineage", PackageResources._008_lineage_sql),
    ]

    /// The trees file: ranges and metaranges.
    static let trees: [(version: Int, name: String, sql: [UInt8])] = [
        (1, "trees-0001_initial", PackageResources.trees_0001_initial_sql),
    ]
}
