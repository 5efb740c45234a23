/// The schema migrations, in order. Their SQL lives in `Schemas/sqlite/` (embedded into the
/// binary at build time); a schema change is a new file and a new line here, never an edit.
enum Migrations {
    static let sqlite: [(version: Int, name: String, sql: [UInt8])] = [
        (1, "0001_initial", PackageResources._001_initial_sql),
    ]
}
