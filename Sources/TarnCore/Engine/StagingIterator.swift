/// Streams the staged changes of several tokens (newest first) as one sorted change stream:
/// for a path staged under several tokens, the newest token's change wins. Reads the store in
/// pages, so a million staged entries never sit in memory at once.
struct StagingIterator: ChangeSource {
    private struct TokenCursor {
        let token: Int64
        var buffer: [Change] = []
        var index = 0
        var exhausted = false
    }

    let store: any MetadataStore
    let prefix: String
    let from: String
    let pageSize: Int
    private var cursors: [TokenCursor]

    init(store: any MetadataStore, tokens: [Int64], prefix: String = "", from: String? = nil, pageSize: Int = 16_384) {
        self.store = store
        self.prefix = prefix
        self.from = from.map { comparePaths($0, prefix) > 0 ? $0 : prefix } ?? prefix
        self.pageSize = pageSize
        cursors = tokens.map { TokenCursor(token: $0) }
    }

    private mutating func head(_ i: Int) throws -> Change? {
        if cursors[i].index >= cursors[i].buffer.count {
            guard !cursors[i].exhausted else { return nil }
            let after = cursors[i].buffer.last?.path
            let page = try store.stagedChanges(token: cursors[i].token, from: from, after: after, limit: pageSize)
            cursors[i].buffer = page
            cursors[i].index = 0
            cursors[i].exhausted = page.count < pageSize
            if page.isEmpty { return nil }
        }
        let c = cursors[i].buffer[cursors[i].index]
        if !prefix.isEmpty && !c.path.hasPathPrefix(prefix) {
            cursors[i].exhausted = true
            cursors[i].buffer = []
            cursors[i].index = 0
            return nil
        }
        return c
    }

    mutating func next() throws -> Change? {
        var best: Change?
        var bestIndex = -1
        for i in cursors.indices {
            guard let c = try head(i) else { continue }
            if best == nil || comparePaths(c.path, best!.path) < 0 {
                best = c
                bestIndex = i
            }
        }
        guard let winner = best else { return nil }
        // Consume this path from every token; the lowest index (newest token) already won.
        for i in cursors.indices where i >= bestIndex {
            if let c = try head(i), pathsEqual(c.path, winner.path) { cursors[i].index += 1 }
        }
        return winner
    }
}
