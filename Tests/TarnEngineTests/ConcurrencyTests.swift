import Dispatch
import Foundation
import Synchronization
import Testing
import TarnCore
import TarnMetadata

/// Runs `body` on a thread of its own (the writers spin while they wait for commits, which
/// would starve a fixed-width dispatch pool).
func spawn(_ group: DispatchGroup, _ body: @escaping @Sendable () -> Void) {
    group.enter()
    Thread {
        body()
        group.leave()
    }.start()
}

/// Writers stage objects on one branch while two committers, each with its own store and
/// engine on the same database file (as two processes would be), commit it over and over.
/// Afterwards every acknowledged write is in exactly one commit or still staged, and the
/// branch history is a line.
@Suite struct ConcurrencyTests {
    @Test func concurrentWritesAndCommitsLoseNothing() throws {
        let lake = try Lake()
        try lake.repo()
        let second = VersioningEngine(store: try SQLiteStore(path: lake.store.path))
        let engines = [lake.engine, second]
        let acknowledged = Mutex<[String]>([])
        let writersDone = Atomic<Bool>(false)
        let commitCount = Atomic<Int>(0)
        let unexpected = Mutex<[String]>([])

        let writers = DispatchGroup()
        for w in 0..<4 {
            spawn(writers) {
                for i in 0..<300 {
                    // Every 50 writes, let the committers land at least one more commit, so
                    // writes and commits interleave whatever the scheduler does (a spin on
                    // the commit counter, not a sleep).
                    if i % 50 == 49 {
                        while commitCount.load(ordering: .acquiring) < (i + 1) / 50 { sched_yield() }
                    }
                    let engine = engines[(w + i) % 2]
                    let batch = (0..<(i % 3 + 1)).map { j in entry("w\(w)/\(i)-\(j)", "w\(w)") }
                    do {
                        try engine.stage(repository: "repo", branch: "main", changes: batch.map(Change.put))
                        acknowledged.withLock { $0 += batch.map(\.path) }
                    } catch {
                        unexpected.withLock { $0.append("write: \(error)") }
                    }
                }
            }
        }
        let committers = DispatchGroup()
        for c in 0..<2 {
            spawn(committers) {
                while !writersDone.load(ordering: .acquiring) {
                    do {
                        _ = try engines[c].commit(repository: "repo", branch: "main", CommitOptions(message: "c\(c)"))
                        commitCount.add(1, ordering: .releasing)
                    } catch EngineError.noChanges, EngineError.concurrentUpdate {
                        // Nothing staged yet, or the other committer took these changes.
                    } catch {
                        unexpected.withLock { $0.append("commit: \(error)") }
                    }
                }
            }
        }
        writers.wait()
        writersDone.store(true, ordering: .releasing)
        committers.wait()

        #expect(unexpected.withLock { $0 } == [])
        #expect(commitCount.load(ordering: .relaxed) >= 5)
        let e = lake.engine
        let history = try e.log(repository: "repo", ref: "main", amount: 10_000).items
        let firstParent = try e.log(repository: "repo", ref: "main", amount: 10_000, firstParent: true).items
        #expect(history.map(\.id) == firstParent.map(\.id), "history is not linear")
        #expect(history.allSatisfy { $0.parents.count <= 1 })

        var committedIn: [String: Int] = [:]
        for c in history where !c.parents.isEmpty {
            for row in try e.diff(repository: "repo", left: c.parents[0], right: c.id, amount: 100_000).items {
                #expect(row.kind == .added)
                committedIn[row.path, default: 0] += 1
            }
        }
        let staged = Set(try e.diffUncommitted(repository: "repo", branch: "main", amount: 100_000).items.map(\.path))
        let acks = acknowledged.withLock { $0 }
        #expect(acks.count > 1000)
        for path in acks {
            let commits = committedIn[path] ?? 0
            #expect((commits == 1 && !staged.contains(path)) || (commits == 0 && staged.contains(path)),
                    "\(path): in \(commits) commits, staged: \(staged.contains(path))")
        }
        #expect(Set(committedIn.keys).union(staged) == Set(acks))
    }
}
