import CSQLite
import TarnCore

let SQLITE_TRANSIENT = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

/// One SQLite connection with a cache of prepared statements. Not thread-safe: `SQLiteStore`
/// hands each connection to one thread at a time.
final class SQLiteConnection {
    let handle: OpaquePointer
    private var statements: [String: SQLiteStatement] = [:]
    /// Statements used in the current transaction. A statement that stopped before SQLITE_DONE
    /// keeps its read snapshot alive, so all of them are reset before the transaction ends.
    private var used: [SQLiteStatement] = []
    /// BEGIN, COMMIT and ROLLBACK, prepared once: through `sqlite3_exec` they were parsed on
    /// every transaction, a measurable part of a small GET.
    private var control: [String: SQLiteStatement] = [:]

    init(path: String, readOnly: Bool) throws {
        var db: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "code \(rc)"
            if let db { sqlite3_close_v2(db) }
            throw EngineError.storage("cannot open \(path): \(message)")
        }
        handle = db
        sqlite3_busy_timeout(db, 10_000)
        sqlite3_extended_result_codes(db, 1)
    }

    deinit {
        statements.removeAll()
        control.removeAll()
        sqlite3_close_v2(handle)
    }

    func execute(_ sql: String) throws {
        var error: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &error)
        if rc != SQLITE_OK {
            let message = error.map { String(cString: $0) } ?? "code \(rc)"
            sqlite3_free(error)
            throw EngineError.storage(message)
        }
    }

    /// A prepared statement, reset and with cleared bindings, ready for use.
    func statement(_ sql: String) throws -> SQLiteStatement {
        if let s = statements[sql] {
            s.reset()
            used.append(s)
            return s
        }
        let s = try prepare(sql)
        statements[sql] = s
        used.append(s)
        return s
    }

    private func prepare(_ sql: String) throws -> SQLiteStatement {
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil) == SQLITE_OK, let stmt else {
            throw EngineError.storage("prepare failed: \(String(cString: sqlite3_errmsg(handle))): \(sql)")
        }
        return SQLiteStatement(stmt, connection: self)
    }

    /// Runs `body` in a transaction (BEGIN IMMEDIATE for writers so a writer never fails half
    /// way on a lock upgrade); rolls back if it throws.
    func transaction<T>(immediate: Bool, _ body: () throws -> T) throws -> T {
        try control(immediate ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED")
        do {
            let result = try body()
            resetUsed()
            try control("COMMIT")
            return result
        } catch {
            resetUsed()
            try? control("ROLLBACK")
            throw error
        }
    }

    /// The read transaction this connection keeps open between reads, with the WAL index
    /// stamp taken before it began and when it began (uptime nanoseconds).
    private var snapshot: (stamp: WALIndex.Stamp, began: UInt64)?

    /// Runs `body` in a read transaction. With a `stamp` (the WAL index header before this
    /// read), the transaction stays open afterwards, and the next read reuses it while the
    /// stamp is unchanged (nothing has been committed since it began) and it is younger than
    /// `lifetime`. Beginning and ending a read transaction takes and drops SQLite's shared
    /// locks (two `fcntl` calls and the WAL index walk): about a tenth of a small GET.
    func read<T>(stamp: WALIndex.Stamp?, now: UInt64, lifetime: UInt64, _ body: () throws -> T) throws -> T {
        let reusable = snapshot.map { held in stamp == held.stamp && now &- held.began < lifetime } ?? false
        if !reusable {
            endSnapshot()
            guard let stamp else { return try transaction(immediate: false, body) }
            try control("BEGIN DEFERRED")
            snapshot = (stamp, now)
        }
        do {
            let result = try body()
            resetUsed()
            return result
        } catch {
            resetUsed()
            endSnapshot()
            throw error
        }
    }

    /// The stamp of the snapshot this connection holds, if it holds one.
    var heldSnapshot: (stamp: WALIndex.Stamp, began: UInt64)? { snapshot }

    /// Ends the read transaction kept open by `read`, if there is one.
    func endSnapshot() {
        guard snapshot != nil else { return }
        snapshot = nil
        // A read-only transaction: COMMIT only releases its locks, and cannot fail for want of them.
        if (try? control("COMMIT")) == nil { try? control("ROLLBACK") }
    }

    /// Runs one transaction-control statement from the cache.
    private func control(_ sql: String) throws {
        let s: SQLiteStatement
        if let cached = control[sql] {
            s = cached
        } else {
            s = try prepare(sql)
            control[sql] = s
        }
        defer { s.reset() }
        _ = try s.step()
    }

    private func resetUsed() {
        for s in used { s.reset() }
        used.removeAll(keepingCapacity: true)
    }

    var changes: Int { Int(sqlite3_changes(handle)) }

    func errorMessage() -> String { String(cString: sqlite3_errmsg(handle)) }
}

/// A prepared statement with 1-based binding and 0-based column access.
final class SQLiteStatement {
    let handle: OpaquePointer
    unowned let connection: SQLiteConnection

    init(_ handle: OpaquePointer, connection: SQLiteConnection) {
        self.handle = handle
        self.connection = connection
    }

    deinit { sqlite3_finalize(handle) }

    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    @discardableResult
    func bind(_ values: SQLValue...) -> SQLiteStatement {
        for (i, v) in values.enumerated() { bind(v, at: Int32(i + 1)) }
        return self
    }

    func bind(_ value: SQLValue, at index: Int32) {
        switch value {
        case .null: sqlite3_bind_null(handle, index)
        case let .int(v): sqlite3_bind_int64(handle, index, v)
        case var .text(s):
            s.withUTF8 { buf in
                _ = sqlite3_bind_text(handle, index, UnsafeRawPointer(buf.baseAddress ?? UnsafePointer(bitPattern: 1)!)
                    .assumingMemoryBound(to: CChar.self), Int32(buf.count), SQLITE_TRANSIENT)
            }
        case let .blob(b):
            b.withUnsafeBytes { buf in
                _ = sqlite3_bind_blob(handle, index, buf.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, Int32(buf.count), SQLITE_TRANSIENT)
            }
        }
    }

    /// Steps once: true when a row is available.
    func step() throws -> Bool {
        let rc = sqlite3_step(handle)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        let message = connection.errorMessage()
        if rc & 0xff == SQLITE_CONSTRAINT { throw SQLiteConstraintError(message: message) }
        throw EngineError.storage("sqlite error \(rc): \(message)")
    }

    /// Runs a statement that returns no rows.
    func run() throws {
        while try step() {}
    }

    func int(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    func text(_ column: Int32) -> String {
        guard let p = sqlite3_column_text(handle, column) else { return "" }
        let n = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
    }

    func blob(_ column: Int32) -> [UInt8] {
        let n = Int(sqlite3_column_bytes(handle, column))
        guard n > 0, let p = sqlite3_column_blob(handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: n))
    }
}

struct SQLiteConstraintError: Error {
    let message: String
}

enum SQLValue {
    case null
    case int(Int64)
    case text(String)
    case blob([UInt8])
}

extension SQLValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    init(stringLiteral value: String) { self = .text(value) }
    init(integerLiteral value: Int64) { self = .int(value) }
}
