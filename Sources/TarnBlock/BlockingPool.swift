import NIOPosix

/// Threads for work that blocks: fsync, renames, and the long engine operations (a commit of
/// a million staged entries takes seconds). Swift's cooperative pool has one thread per core,
/// two here; a call that blocks one of them stalls every request scheduled behind it, and
/// parallel fsyncs would run one or two at a time instead of sharing the file system's
/// journal commits. Short, CPU-bound calls (a stat, a branch create) stay inline: a hop to
/// this pool costs more than they do.
public enum BlockingPool {
    /// Sixteen threads: enough fsyncs in flight to batch in the journal, few enough to stay
    /// cheap when idle.
    static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 16)
        pool.start()
        return pool
    }()

    /// Starts `body` on the pool without waiting for it.
    public static func submit(_ body: @escaping @Sendable () -> Void) {
        pool.submit { _ in body() }
    }

    /// Runs `body` on the pool and returns its result.
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await pool.runIfActive(body)
    }
}
