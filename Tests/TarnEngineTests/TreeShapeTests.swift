import Testing
@testable import TarnCore
import TarnMetadata

/// The shape of stored trees: content-defined range boundaries make trees canonical and keep
/// rewrites local.
@Suite struct TreeShapeTests {
    func paths(_ n: Int) -> [String] { (0..<n).map { "table/date=\($0 / 1000)/part-\($0 % 1000).parquet" } }

    @Test func sameContentsGiveSameTreeWhateverTheHistory() throws {
        let lake = try Lake()
        try lake.repo("one")
        try lake.repo("two")
        let e = lake.engine
        let all = paths(20_000)
        try e.stage(repository: "one", branch: "main", changes: all.map { .put(entry($0)) })
        let a = try e.commit("one", "main")
        // Same final contents reached in four commits, in another order, with a detour.
        for chunk in [all.suffix(5000), all.prefix(7000), all.dropFirst(7000).dropLast(5000)] {
            try e.stage(repository: "two", branch: "main", changes: chunk.reversed().map { .put(entry($0, "tmp")) })
            _ = try e.commit("two", "main")
        }
        try e.stage(repository: "two", branch: "main", changes: all.map { .put(entry($0)) } + [.put(entry("zzz"))])
        _ = try e.commit("two", "main")
        try e.deleteObject(repository: "two", branch: "main", path: "zzz")
        let b = try e.commit("two", "main")
        #expect(a.metarangeID == b.metarangeID)
        #expect(try e.trees.metarange(a.metarangeID).count > 10)
    }

    @Test func tenScatteredChangesRewriteOnlyTheirRanges() throws {
        let lake = try Lake()
        try lake.repo()
        let e = lake.engine
        let all = paths(100_000)
        try e.stage(repository: "repo", branch: "main", changes: all.map { .put(entry($0)) })
        let before = try e.commit("repo", "main")
        var rng = SplitMix(seed: 3)
        let picks = Set((0..<10).map { _ in all[Int(rng.next() % UInt64(all.count))] })
        try e.stage(repository: "repo", branch: "main", changes: picks.map { .put(entry($0, "v2")) })
        let after = try e.commit("repo", "main")
        let old = Set(try e.trees.metarange(before.metarangeID).map(\.id))
        let new = try e.trees.metarange(after.metarangeID)
        let rewritten = new.filter { !old.contains($0.id) }
        #expect(rewritten.count <= picks.count)
        #expect(rewritten.map(\.count).reduce(0, +) < 20_000, "rewrote \(rewritten.map(\.count).reduce(0, +)) entries")
        #expect(new.count == old.count)
        // A diff reads only the ranges that differ, on either side.
        let fresh = VersioningEngine(store: lake.store)
        let diff = try fresh.diff(repository: "repo", left: before.id, right: after.id)
        #expect(Set(diff.items.map(\.path)) == picks)
        #expect(fresh.trees.cachedRangeCount <= 2 * rewritten.count)
    }
}

@Suite struct MetarangeScanTests {
    @Test func findRangeAgreesWithTheDecodedBinarySearch() throws {
        let ranges = (0..<300).map { i in
            RangeInfo(id: ContentHash.sha256Hex(Array("r\(i)".utf8)), firstKey: String(format: "k/%05d/a", i * 10),
                      lastKey: String(format: "k/%05d/z", i * 10 + 5), count: i + 1, bytes: 100 + i)
        }
        let (_, bytes) = TreeCoding.encodeMetarange(ranges)
        for key in ["", "k/00000/a", "k/00010/m", "k/00015/a", "k/02995/z", "k/02995/zz", "l", "k/01234"] {
            let i = TreeCursor.firstRange(in: ranges, withLastKeyAtLeast: key)
            let found = try TreeCoding.findRange(in: bytes, atLeast: Array(key.utf8))
            #expect(found == (i < ranges.count ? ranges[i] : nil), "\(key)")
        }
        #expect(try TreeCoding.findRange(in: TreeCoding.emptyMetarange.bytes, atLeast: Array("a".utf8)) == nil)
    }
}
