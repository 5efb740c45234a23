import ArgumentParser
import Foundation
import TarnClient

struct Commit: ClientCommand {
    static let configuration = CommandConfiguration(abstract: "Commit a branch's changes: tarn commit lakefs://REPO/BRANCH -m MESSAGE")
    @OptionGroup var options: ClientOptions
    @Argument(help: "lakefs://REPO/BRANCH") var branch: String
    @Option(name: [.short, .long], help: "Commit message.") var message = ""
    @Option(help: "Metadata key=value (repeatable).") var meta: [String] = []
    @Flag(name: [.customLong("allow-empty"), .customLong("allow-empty-commit")], help: "Commit even with no changes.") var allowEmpty = false
    @Flag(name: .customLong("allow-empty-message"), help: "Allow an empty message.") var allowEmptyMessage = false
    @Option(help: "Lineage run ID: the commit becomes an output of that run (metadata tarn.run_id).") var run: String?

    func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
        let b = try uri(branch)
        if message.isEmpty && !allowEmptyMessage { throw .usage("a commit needs a message (-m), or --allow-empty-message") }
        var metadata = try pairs(meta)
        if let run { metadata["tarn.run_id"] = .string(run) }
        let c = try await client.call(.POST, "/repositories/\(seg(b.repository))/branches/\(seg(try b.requireRef("branch")))/commits",
                                      json: .object(["message": .string(message), "metadata": .object(metadata), "allow_empty": .bool(allowEmpty)]))
        out.document(c) { ["Commit for branch \"\(b.ref!)\" completed.", ""] + describe(c) }
    }
}

/// A commit as lakectl prints it.
func describe(_ c: JSON) -> [String] {
    var lines = ["ID: \(c["id"].text)", "Message: \(c["message"].text)", "Timestamp: \(time(c["creation_date"]))",
                 "Parents: \(c["parents"].array.map(\.text).joined(separator: ", "))"]
    if !c["committer"].text.isEmpty { lines.insert("Committer: \(c["committer"].text)", at: 2) }
    for (k, v) in c["metadata"].object.sorted(by: { $0.key < $1.key }) { lines.append("Metadata: \(k) = \(v.text)") }
    return lines
}

struct Log: ClientCommand {
    static let configuration = CommandConfiguration(abstract: "Show a ref's commit log.")
    @OptionGroup var options: ClientOptions
    @Argument(help: "lakefs://REPO/REF") var ref: String
    @Option(help: "At most this many commits.") var amount = Int.max
    @Option(help: "Start after this commit ID.") var after: String?
    @Option(help: "Only commits that changed these objects (repeatable).") var objects: [String] = []
    @Option(help: "Only commits that changed objects under these prefixes (repeatable).") var prefixes: [String] = []
    @Flag(name: .customLong("first-parent"), help: "Follow only the first parent of merges.") var firstParent = false
    @Option(help: "Only commits at or after this time (RFC 3339).") var since: String?
    @Option(name: .customLong("stop-at"), help: "Stop at this commit.") var stopAt: String?

    func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
        let r = try uri(ref)
        var query: [(String, String?)] = [("first_parent", firstParent ? "true" : nil), ("since", since), ("stop_at", stopAt)]
        query += objects.map { ("objects", $0) } + prefixes.map { ("prefixes", $0) }
        let commits = try await client.list("/repositories/\(seg(r.repository))/refs/\(seg(try r.requireRef()))/commits",
                                            query: query, after: after, limit: amount)
        if out.json { print(JSON.array(commits).rendered()); return }
        for c in commits { (describe(c) + [""]).forEach { print($0) } }
    }
}

struct Diff: ClientCommand {
    static let configuration = CommandConfiguration(abstract: "Uncommitted changes of a branch (one URI) or the difference between two refs.")
    @OptionGroup var options: ClientOptions
    @Argument(help: "lakefs://REPO/REF (a branch alone: its uncommitted changes)") var left: String
    @Argument(help: "lakefs://REPO/REF to compare with") var right: String?
    @Flag(name: .customLong("two-way"), help: "Compare the two refs directly instead of from their merge base.") var twoWay = false
    @Option(help: "Only paths under this prefix.") var prefix: String?

    func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
        let l = try uri(left)
        let changes: [JSON]
        if let right {
            let r = try uri(right)
            changes = try await client.list("/repositories/\(seg(l.repository))/refs/\(seg(try l.requireRef()))/diff/\(seg(try r.requireRef()))",
                                            query: [("type", twoWay ? "two_dot" : "three_dot"), ("prefix", prefix)])
        } else {
            changes = try await client.list("/repositories/\(seg(l.repository))/branches/\(seg(try l.requireRef("branch")))/diff",
                                            query: [("prefix", prefix)])
        }
        if out.json { print(JSON.array(changes).rendered()); return }
        let sign = ["added": "+ added", "removed": "- removed", "changed": "~ modified", "conflict": "! conflict", "prefix_changed": "~ changed"]
        for c in changes { print("\(sign[c["type"].text] ?? c["type"].text) \(c["path"].text)") }
    }
}

struct Merge: ClientCommand {
    static let configuration = CommandConfiguration(abstract: "Merge a ref into a branch: tarn merge lakefs://REPO/SOURCE lakefs://REPO/DEST")
    @OptionGroup var options: ClientOptions
    @Argument(help: "lakefs://REPO/REF to merge") var source: String
    @Argument(help: "lakefs://REPO/BRANCH to merge into") var destination: String
    @Option(help: "On conflicts: dest-wins or source-wins (default: fail).") var strategy: String?
    @Flag(help: "One commit with one parent instead of a merge commit.") var squash = false
    @Flag(name: .customLong("allow-empty"), help: "Merge even when there is nothing to merge.") var allowEmpty = false
    @Option(name: [.short, .long], help: "Merge commit message.") var message: String?

    func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
        let s = try uri(source), d = try uri(destination)
        guard s.repository == d.repository else { throw .usage("both refs must be in one repository") }
        var body: [String: JSON] = ["squash_merge": .bool(squash), "allow_empty": .bool(allowEmpty)]
        if let strategy { body["strategy"] = .string(strategy) }
        if let message { body["message"] = .string(message) }
        let repo = "/repositories/\(seg(s.repository))"
        let (src, dest) = (try s.requireRef(), try d.requireRef("branch"))
        let result: JSON
        do {
            result = try await client.call(.POST, "\(repo)/refs/\(seg(src))/merge/\(seg(dest))", json: .object(body))
        } catch {
            guard case let .server(409, message, serverBody) = error else { throw error }
            // The API says only that there is a conflict; name the paths, for people and for
            // scripts: those changed on both sides since the merge base.
            var details = serverBody?.object ?? [:]
            if let base = try? await client.call(.GET, "\(repo)/refs/\(seg(src))/merge/\(seg(dest))")["base_commit_id"].string,
               let ours = try? await client.list("\(repo)/refs/\(seg(base))/diff/\(seg(src))", query: [("type", "two_dot")]),
               let theirs = try? await client.list("\(repo)/refs/\(seg(base))/diff/\(seg(dest))", query: [("type", "two_dot")]) {
                let both = Set(ours.map { $0["path"].text }).intersection(theirs.map { $0["path"].text }).sorted()
                details["conflicts"] = .array(both.map { .string($0) })
                if !out.json { both.forEach { FileHandle.standardError.write(Data("conflict: \($0)\n".utf8)) } }
            }
            throw .server(status: 409, message: "merge conflict: \(message)", body: .object(details))
        }
        out.document(result) { ["Source: \(s)", "Destination: \(d)", "Merged \"\(s.ref!)\" into \"\(d.ref!)\" to get \"\(result["reference"].text)\"."] }
    }
}

struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show an object of the history.", subcommands: [ShowCommit.self])

    struct ShowCommit: ClientCommand {
        static let configuration = CommandConfiguration(commandName: "commit", abstract: "Show a commit: tarn show commit lakefs://REPO/COMMIT")
        @OptionGroup var options: ClientOptions
        @Argument(help: "lakefs://REPO/COMMIT (or any ref)") var commit: String

        func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
            let c = try uri(commit)
            let doc = try await client.call(.GET, "/repositories/\(seg(c.repository))/commits/\(seg(try c.requireRef("commit")))")
            out.document(doc) { describe(doc) }
        }
    }
}
