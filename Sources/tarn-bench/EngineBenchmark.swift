import Foundation
import TarnCore
import TarnMetadata

/// `tarn-bench engine`: the versioning engine on a SQLite file on local disk, at 1M entries
/// (100k with --quick); the figures and targets of issue 3.
struct EngineBenchmark {
    let quick: Bool
    var big: Int { quick ? 100_000 : 1_000_000 }
    var small: Int { big / 10 }
    let rounds = 21

    /// `table/date=YYYY-MM-DD/part-NNNNN.parquet`: 1,000 files per day partition from 2020-01-01.
    func path(_ i: Int) -> String {
        let (year, month, day) = civilDate(daysSinceEpoch: 18_262 + i / 1000)
        return "table/date=\(year)-\(pad(month, 2))-\(pad(day, 2))/part-\(pad(i % 1000, 5)).parquet"
    }

    func pad(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }

    /// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
    func civilDate(daysSinceEpoch: Int) -> (Int, Int, Int) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    func entry(_ path: String, _ version: Int) -> Entry {
        Entry(path: path, physicalAddress: "data/g\(version)/\(UUID().uuidString)", size: 1_048_576 + Int64(version),
              checksum: String(UInt64(bitPattern: Int64(path.hashValue &+ version)), radix: 16), contentType: "application/octet-stream",
              metadata: [:], mtime: 1_700_000_000 + Int64(version))
    }

    func run() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tarn-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try SQLiteStore(path: dir.appendingPathComponent("tarn.sqlite").path)
        let engine = VersioningEngine(store: store)
        var report = Report()
        var rng = SplitMix(seed: 42)
        // With --quick every figure keeps its name ("1m", "100k") but is measured at a tenth
        // of the size; `entries` in the JSON says which.
        Report.note("tarn-bench engine: \(big) entries (\(quick ? "quick" : "full")), SQLite at \(dir.path)")
        report.add("entries", Double(big), "entries")

        let paths = (0..<big).map(path)

        // Staged writes, one writer, batches of 1,000.
        try engine.createRepository(name: "big", storageNamespace: "local://big")
        // Only the stage calls are timed; building the entries is not.
        var staging = 0.0
        let shuffled = paths.shuffled(using: &rng)
        for chunk in stride(from: 0, to: shuffled.count, by: 1000) {
            let batch: [Change] = shuffled[chunk..<min(chunk + 1000, shuffled.count)].map { .put(entry($0, 0)) }
            staging += try timed { try engine.stage(repository: "big", branch: "main", changes: batch) }
        }
        report.add("staged_writes_per_s", Double(big) / staging, "entries/s")

        // Commit every staged entry onto the empty branch.
        resetPeakRSSOf()
        let commitAll = try timed { _ = try engine.commit(repository: "big", branch: "main", CommitOptions(message: "load")) }
        report.add("commit_1m_s", commitAll, "s")
        report.add("commit_1m_peak_rss_mb", peakRSSMB(), "MB")
        try engine.sweepStaging(limit: .max)

        // Branch creation from the big tree.
        var branchTimes: [Double] = []
        for i in 0..<200 {
            branchTimes.append(try timed { try engine.createBranch(repository: "big", name: "b\(i)", from: "main") })
        }
        report.add("branch_create_p50_ms", percentile(branchTimes, 0.5) * 1000, "ms")

        // Ten scattered changes, committed, on the big tree and on a tree a tenth of its size.
        let commitBig = try tenChangeCommits(engine, repo: "big", paths: paths, rng: &rng)
        report.add("commit_10_on_1m_p50_ms", percentile(commitBig.times, 0.5) * 1000, "ms")

        try engine.createRepository(name: "small", storageNamespace: "local://small")
        let smallPaths = Array(paths.prefix(small))
        for chunk in stride(from: 0, to: smallPaths.count, by: 1000) {
            try engine.stage(repository: "small", branch: "main",
                             changes: smallPaths[chunk..<min(chunk + 1000, smallPaths.count)].map { .put(entry($0, 0)) })
        }
        _ = try engine.commit(repository: "small", branch: "main", CommitOptions(message: "load"))
        let commitSmall = try tenChangeCommits(engine, repo: "small", paths: smallPaths, rng: &rng)
        report.add("commit_10_on_100k_p50_ms", percentile(commitSmall.times, 0.5) * 1000, "ms")
        report.add("commit_10_1m_over_100k", percentile(commitBig.times, 0.5) / percentile(commitSmall.times, 0.5), "ratio")

        // Diff of consecutive commits (10 changed entries) on the big tree: first on a fresh
        // engine, so nothing is cached in memory (cold), then again on the same engine (warm:
        // what a running server sees for commits it has recently served).
        let coldEngine = VersioningEngine(store: store)
        var coldTimes: [Double] = [], warmTimes: [Double] = []
        for (parent, child) in commitBig.pairs {
            for pass in 0..<2 {
                var rows = 0
                let t = try timed { rows = try coldEngine.diff(repository: "big", left: parent, right: child).items.count }
                precondition(rows == 10, "diff found \(rows) rows, expected 10")
                if pass == 0 { coldTimes.append(t) } else { warmTimes.append(t) }
            }
        }
        report.add("diff_10_in_1m_ms", percentile(warmTimes, 0.5) * 1000, "ms")
        report.add("diff_10_in_1m_cold_ms", percentile(coldTimes, 0.5) * 1000, "ms")

        // Three-way merge, 10 changes on each side, no conflicts.
        var mergeTimes: [Double] = []
        for round in 0..<(rounds / 2) {
            let src = "msrc\(round)", dst = "mdst\(round)"
            try engine.createBranch(repository: "big", name: src, from: "main")
            try engine.createBranch(repository: "big", name: dst, from: "main")
            let picks = (0..<20).map { _ in paths[Int.random(in: 0..<paths.count, using: &rng)] }
            let unique = Array(Set(picks)).sorted()
            try engine.stage(repository: "big", branch: src, changes: unique.prefix(10).map { .put(entry($0, 100 + round)) })
            try engine.stage(repository: "big", branch: dst, changes: unique.dropFirst(10).map { .put(entry($0, 200 + round)) })
            _ = try engine.commit(repository: "big", branch: src, CommitOptions(message: "src"))
            _ = try engine.commit(repository: "big", branch: dst, CommitOptions(message: "dst"))
            mergeTimes.append(try timed { _ = try engine.merge(repository: "big", source: src, into: dst) })
        }
        report.add("merge_10_on_1m_ms", percentile(mergeTimes, 0.5) * 1000, "ms")

        // Iterate every committed entry in order, cold in-memory cache (SQLite pages warm).
        let head = try engine.branch(repository: "big", name: "main").headCommitID
        let iterEngine = VersioningEngine(store: store)
        var seen = 0
        let iterate = try timed {
            var after = ""
            while true {
                let page = try iterEngine.listObjects(repository: "big", ref: head, after: after, amount: 1000)
                seen += page.items.count
                guard page.hasMore else { break }
                after = page.items.last!.path
            }
        }
        precondition(seen == big, "iterated \(seen) of \(big)")
        report.add("iterate_entries_per_s", Double(seen) / iterate, "entries/s")

        // Delimiter listing: the day partitions under table/ (1,000 common prefixes at 1M).
        var prefixTimes: [Double] = []
        for _ in 0..<5 {
            var rows = 0
            prefixTimes.append(try timed {
                rows = try engine.listObjects(repository: "big", ref: head, prefix: "table/", delimiter: "/", amount: 1000).items.count
            })
            precondition(rows == big / 1000, "listed \(rows) common prefixes")
        }
        report.add("list_common_prefixes_ms", percentile(prefixTimes, 0.5) * 1000, "ms")

        // Point lookups of committed entries by commit ID, warm cache.
        let sample = (0..<20_000).map { _ in paths[Int.random(in: 0..<paths.count, using: &rng)] }
        for p in sample { _ = try engine.getObject(repository: "big", ref: head, path: p) }
        var lookups: [Double] = []
        lookups.reserveCapacity(sample.count)
        for p in sample { lookups.append(try timed { _ = try engine.getObject(repository: "big", ref: head, path: p) }) }
        report.add("lookup_p50_us", percentile(lookups, 0.5) * 1e6, "us")

        print(report.json())
    }

    /// `rounds` commits of 10 changes at random paths on a branch of `repo`; commit times and
    /// (parent, child) commit pairs.
    func tenChangeCommits(_ engine: VersioningEngine, repo: String, paths: [String],
                          rng: inout SplitMix) throws -> (times: [Double], pairs: [(String, String)]) {
        try engine.createBranch(repository: repo, name: "ten", from: "main")
        var times: [Double] = []
        var pairs: [(String, String)] = []
        var parent = try engine.branch(repository: repo, name: "ten").headCommitID
        for round in 0..<rounds {
            var picks = Set<String>()
            while picks.count < 10 { picks.insert(paths[Int.random(in: 0..<paths.count, using: &rng)]) }
            try engine.stage(repository: repo, branch: "ten", changes: picks.map { .put(entry($0, round + 1)) })
            var commit: Commit?
            times.append(try timed {
                commit = try engine.commit(repository: repo, branch: "ten", CommitOptions(message: "ten \(round)"))
            })
            pairs.append((parent, commit!.id))
            parent = commit!.id
        }
        return (times, pairs)
    }
}
