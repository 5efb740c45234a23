import Testing
import TarnCore
import TarnMetadata

/// Random sequences of put / delete / commit / branch / merge / reset / revert / cherry-pick /
/// hard reset run against the engine and against a naive model that keeps a full copy of
/// every commit and branch. After every step, reads, listings, diffs and conflict sets must
/// agree. Tiny ranges (2–6 entries) make even small trees span many ranges, so range reuse,
/// re-cutting and range skipping are all exercised.
struct ModelCheckTests {
    /// 500 sequences per run, in four shards that run in parallel.
    @Test(arguments: [0, 1, 2, 3])
    func engineMatchesNaiveModel(shard: Int) throws {
        let lake = try Lake(policy: RangePolicy(minEntries: 2, hashBits: 1, maxEntries: 6, maxBytes: 1 << 20))
        for seq in stride(from: shard, to: 500, by: 4) {
            var run = try ModelRun(engine: lake.engine, repo: "seq-\(seq)", seed: UInt64(seq) &* 0x9E37_79B9 &+ 7)
            try run.execute(steps: 30)
        }
    }
}

typealias Tree = [String: String]

struct ModelBranch {
    var head: String
    var working: Tree
    /// Paths staged since the last commit or reset: the engine calls a branch dirty while any remain.
    var staged: Set<String>
}

struct ModelRun {
    let engine: VersioningEngine
    let repo: String
    var rng: SplitMix
    var commits: [String: Tree] = [:]
    var commitInfo: [String: Commit] = [:]
    var branches: [String: ModelBranch] = [:]
    var log: [String] = []
    static let paths = ["a/1", "a/2", "a/3", "a/b/1", "a/b/2", "b/1", "b/2", "b/c/d", "c", "d/1", "d/2", "e",
                        "f/1", "f/2", "f/3", "g", "h/i/j", "h/i/k", "x", "y/z"]

    init(engine: VersioningEngine, repo: String, seed: UInt64) throws {
        self.engine = engine
        self.repo = repo
        rng = SplitMix(seed: seed)
        try engine.createRepository(name: repo, storageNamespace: "local://\(repo)")
        let head = try engine.branch(repository: repo, name: "main").headCommitID
        commits[head] = [:]
        commitInfo[head] = try engine.getCommit(repository: repo, id: head)
        branches["main"] = ModelBranch(head: head, working: [:], staged: [])
    }

    mutating func pick<T>(_ items: [T]) -> T { items[Int(rng.next() % UInt64(items.count))] }
    mutating func chance(_ percent: UInt64) -> Bool { rng.next() % 100 < percent }
    var branchNames: [String] { branches.keys.sorted() }

    mutating func execute(steps: Int) throws {
        for _ in 0..<steps {
            try step()
            try check()
        }
    }

    func context() -> Comment { Comment(rawValue: "repo \(repo), steps:\n" + log.joined(separator: "\n")) }

    mutating func step() throws {
        let engine = self.engine, repo = self.repo
        let roll = rng.next() % 100
        let name = pick(branchNames)
        switch roll {
        case 0..<30: // put
            let path = pick(Self.paths), version = "v\(rng.next() % 4)"
            log.append("put \(name) \(path) \(version)")
            try engine.putObject(repository: repo, branch: name, entry: entry(path, version))
            branches[name]!.working[path] = version
            branches[name]!.staged.insert(path)
        case 30..<40: // delete
            let path = pick(Self.paths)
            log.append("delete \(name) \(path)")
            if branches[name]!.working[path] != nil {
                try engine.deleteObject(repository: repo, branch: name, path: path)
                branches[name]!.working[path] = nil
                branches[name]!.staged.insert(path)
            } else {
                #expect(throws: EngineError.objectNotFound(path), context()) {
                    try engine.deleteObject(repository: repo, branch: name, path: path)
                }
            }
        case 40..<55: // commit
            let allowEmpty = chance(10)
            log.append("commit \(name) allowEmpty=\(allowEmpty)")
            let b = branches[name]!
            let options = CommitOptions(message: "c", allowEmpty: allowEmpty)
            if b.working == commits[b.head]! && !allowEmpty {
                #expect(throws: EngineError.noChanges, context()) { try engine.commit(repository: repo, branch: name, options) }
            } else {
                let c = try engine.commit(repository: repo, branch: name, options)
                #expect(c.parents == [b.head], context())
                record(c, tree: b.working)
                branches[name] = ModelBranch(head: c.id, working: b.working, staged: [])
            }
        case 55..<62: // create branch
            guard branches.count < 5 else { return }
            let new = "br\(branches.count)"
            log.append("branch \(new) from \(name)")
            try engine.createBranch(repository: repo, name: new, from: name)
            let head = branches[name]!.head
            branches[new] = ModelBranch(head: head, working: commits[head]!, staged: [])
        case 62..<77: // merge
            let source = pick(branchNames)
            let strategy = pick([MergeStrategy.none, .none, .destWins, .sourceWins])
            let squash = chance(15)
            log.append("merge \(source) into \(name) \(strategy) squash=\(squash)")
            let dest = branches[name]!
            let sourceHead = branches[source]!.head
            let options = MergeOptions(strategy: strategy, squash: squash)
            if !dest.staged.isEmpty {
                #expect(throws: EngineError.dirtyBranch(name), context()) {
                    try engine.merge(repository: repo, source: source, into: name, options)
                }
                return
            }
            let base = mergeBase(dest.head, sourceHead)
            try expectThreeWay(base: commits[base]!, source: commits[sourceHead]!, branch: name, strategy: strategy,
                               parents: squash ? [dest.head] : [dest.head, sourceHead]) {
                try engine.merge(repository: repo, source: source, into: name, options)
            }
        case 77..<83: // reset (all, object, prefix)
            let b = branches[name]!
            let committed = commits[b.head]!
            switch rng.next() % 3 {
            case 0:
                log.append("reset \(name) all")
                try engine.resetBranch(repository: repo, branch: name)
                branches[name] = ModelBranch(head: b.head, working: committed, staged: [])
            case 1:
                let path = pick(Self.paths)
                log.append("reset \(name) object \(path)")
                try engine.resetBranch(repository: repo, branch: name, scope: .object(path))
                branches[name]!.working[path] = committed[path]
                branches[name]!.staged.remove(path)
            default:
                let prefix = pick(["a/", "a/b/", "f/", "h/"])
                log.append("reset \(name) prefix \(prefix)")
                try engine.resetBranch(repository: repo, branch: name, scope: .prefix(prefix))
                for p in Self.paths where p.hasPrefix(prefix) {
                    branches[name]!.working[p] = committed[p]
                    branches[name]!.staged.remove(p)
                }
            }
        case 83..<90: // revert or cherry-pick a commit from the branch's history
            let b = branches[name]!
            let history = ancestors(of: b.head).filter { !commitInfo[$0]!.parents.isEmpty }.sorted()
            guard !history.isEmpty else { return }
            let target = pick(history)
            let info = commitInfo[target]!
            let parentNumber = info.parents.count > 1 ? 1 + Int(rng.next() % UInt64(info.parents.count)) : 0
            let parent = info.parents[max(parentNumber, 1) - 1]
            let revert = chance(60)
            log.append("\(revert ? "revert" : "cherry-pick") \(target.prefix(8)) on \(name) parent \(parentNumber)")
            if !b.staged.isEmpty {
                #expect(throws: EngineError.dirtyBranch(name), context()) {
                    if revert {
                        try engine.revert(repository: repo, branch: name, ref: target, parentNumber: parentNumber)
                    } else {
                        try engine.cherryPick(repository: repo, branch: name, ref: target, parentNumber: parentNumber)
                    }
                }
                return
            }
            if revert {
                try expectThreeWay(base: commits[target]!, source: commits[parent]!, branch: name, strategy: .none, parents: [b.head]) {
                    try engine.revert(repository: repo, branch: name, ref: target, parentNumber: parentNumber)
                }
            } else {
                try expectThreeWay(base: commits[parent]!, source: commits[target]!, branch: name, strategy: .none, parents: [b.head]) {
                    try engine.cherryPick(repository: repo, branch: name, ref: target, parentNumber: parentNumber)
                }
            }
        default: // hard reset to a commit this branch can reach
            let b = branches[name]!
            let target = pick(ancestors(of: b.head).sorted())
            log.append("hard-reset \(name) to \(target.prefix(8))")
            try engine.hardReset(repository: repo, branch: name, to: target)
            branches[name] = ModelBranch(head: target, working: commits[target]!, staged: [])
        }
    }

    /// Runs a three-way operation and checks it against the model: conflicts, no-op, or the
    /// merged tree with the expected parents.
    mutating func expectThreeWay(base: Tree, source: Tree, branch: String, strategy: MergeStrategy, parents: [String],
                                 _ operation: () throws -> Commit) throws {
        let dest = commits[branches[branch]!.head]!
        var result = dest
        var conflicts: [String] = []
        for path in Set(base.keys).union(source.keys).union(dest.keys) {
            let b = base[path], s = source[path], d = dest[path]
            if s == b || s == d { continue }
            if d == b { result[path] = s; continue }
            switch strategy {
            case .none: conflicts.append(path)
            case .destWins: break
            case .sourceWins: result[path] = s
            }
        }
        conflicts.sort { pathPrecedes($0, $1) }
        if !conflicts.isEmpty {
            #expect(throws: EngineError.conflict(paths: conflicts), context()) { _ = try operation() }
        } else if result == dest {
            #expect(throws: EngineError.noChanges, context()) { _ = try operation() }
        } else {
            let c = try operation()
            #expect(c.parents == parents, context())
            record(c, tree: result)
            branches[branch] = ModelBranch(head: c.id, working: result, staged: [])
        }
    }

    mutating func record(_ c: Commit, tree: Tree) {
        commits[c.id] = tree
        commitInfo[c.id] = c
    }

    func ancestors(of id: String) -> Set<String> {
        var seen: Set<String> = [id]
        var stack = [id]
        while let c = stack.popLast() {
            for p in commitInfo[c]!.parents where seen.insert(p).inserted { stack.append(p) }
        }
        return seen
    }

    /// The common ancestor with the highest (generation, date, id): the engine's choice.
    func mergeBase(_ a: String, _ b: String) -> String {
        ancestors(of: a).intersection(ancestors(of: b)).max { x, y in
            let cx = commitInfo[x]!, cy = commitInfo[y]!
            return (cx.generation, cx.createdAt, cx.id) < (cy.generation, cy.createdAt, cy.id)
        }!
    }

    func check() throws {
        for name in branchNames {
            let b = branches[name]!
            #expect(try engine.contents(repo, name) == b.working, context())
            #expect(try engine.contents(repo, name + "@") == commits[b.head]!, context())
            #expect(try engine.branch(repository: repo, name: name).headCommitID == b.head, context())
            let uncommitted = try engine.diffUncommitted(repository: repo, branch: name, amount: 100).items
            #expect(uncommitted.map(describe) == modelDiff(commits[b.head]!, b.working), context())
        }
        let names = branchNames
        let left = names[0], right = names[names.count - 1]
        let diff = try engine.diff(repository: repo, left: left, right: right, amount: 100).items
        #expect(diff.map(describe) == modelDiff(commits[branches[left]!.head]!, commits[branches[right]!.head]!), context())
        let delimited = try engine.listObjects(repository: repo, ref: right, prefix: "a/", delimiter: "/").items
        #expect(delimited.map(\.path) == modelList(branches[right]!.working, prefix: "a/", delimiter: "/"), context())
    }

    func describe(_ row: DiffRow) -> String { "\(row.kind) \(row.path) \(row.right?.checksum ?? "-")" }

    func modelDiff(_ a: Tree, _ b: Tree) -> [String] {
        Set(a.keys).union(b.keys).sorted { pathPrecedes($0, $1) }.compactMap { p in
            switch (a[p], b[p]) {
            case (nil, let v?): return "added \(p) \(v)"
            case (_?, nil): return "removed \(p) -"
            case let (x?, y?) where x != y: return "changed \(p) \(y)"
            default: return nil
            }
        }
    }

    func modelList(_ tree: Tree, prefix: String, delimiter: String) -> [String] {
        var rows: [String] = []
        for p in tree.keys.sorted(by: { pathPrecedes($0, $1) }) where p.hasPrefix(prefix) {
            let rest = p.dropFirst(prefix.count)
            let row = rest.firstRange(of: delimiter).map { prefix + rest[..<$0.upperBound] } ?? p
            if rows.last != row { rows.append(row) }
        }
        return rows
    }
}

