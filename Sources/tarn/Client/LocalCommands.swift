import ArgumentParser
import Foundation
import TarnClient

/// `tarn local`: a folder of the lake as plain local files (what ML people ask for most).
struct Local: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Work on a folder of the lake as local files: clone, status, commit, pull, checkout.",
        subcommands: [Clone.self, Status.self, CommitLocal.self, Pull.self, Checkout.self])

    struct Clone: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Download lakefs://REPO/REF/PATH into a folder and start tracking it.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "lakefs://REPO/REF[/PATH]") var source: String
        @Argument(help: "Folder (default: the path's last name, or the repository's).") var directory: String?
        @Option(name: [.short, .long], help: "Transfers at once.") var parallelism = 8

        func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
            var src = try uri(source)
            _ = try src.requireRef()
            src.path = FS.Upload.folder(src.path)
            let dir = directory ?? (src.path!.split(separator: "/").last.map(String.init) ?? src.repository)
            if let existing = try? FileManager.default.contentsOfDirectory(atPath: dir), !existing.isEmpty {
                throw .usage("\(dir) exists and is not empty")
            }
            do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
                throw .local("cannot create \(dir): \(error.localizedDescription)")
            }
            var index = LocalIndex(source: src, commit: "")
            let head = try await commitID(client, src)
            let n = try await sync(client, &index, dir, to: head, parallelism: parallelism)
            try index.save(dir)
            out.document(.object(["directory": .string(dir), "commit": .string(head), "downloaded": .number(Double(n))])) {
                ["Cloned \(src) at \(head) into \(dir): \(n) files."]
            }
        }
    }

    struct Status: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Local changes since the last sync, and changes on the remote ref, without downloading.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Folder (default: .)") var directory = "."

        func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
            let index = try LocalIndex.load(directory)
            let local = index.localChanges(directory)
            let remote = try await remoteChanges(client, index)
            let doc = JSON.object([
                "source": .string(index.source.description), "commit": .string(index.commit),
                "local": .array(local.map { .object(["path": .string($0.path), "type": .string($0.change.rawValue)]) }),
                "remote": .array(remote.map { .object(["path": .string($0["path"].text), "type": $0["type"]]) }),
            ])
            out.document(doc) {
                var lines = ["\(index.source) at \(index.commit)"]
                lines += local.isEmpty ? ["No local changes."] : ["Local changes:"] + local.map { "  \($0.change.rawValue)\t\($0.path)" }
                lines += remote.isEmpty ? ["No remote changes."] : ["Remote changes (tarn local pull):"] + remote.map { "  \($0["type"].text)\t\($0["path"].text)" }
                return lines
            }
        }
    }

    struct CommitLocal: ClientCommand {
        static let configuration = CommandConfiguration(commandName: "commit",
                                                        abstract: "Upload changed files, delete removed ones, and commit on the branch.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Folder (default: .)") var directory = "."
        @Option(name: [.short, .long], help: "Commit message.") var message: String
        @Option(help: "Metadata key=value (repeatable).") var meta: [String] = []
        @Flag(help: "Commit even when the branch has other uncommitted changes under the path, or moved on since the last sync.") var force = false
        @Option(name: [.short, .long], help: "Transfers at once.") var parallelism = 8

        func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
            var index = try LocalIndex.load(directory)
            let src = index.source, prefix = src.path ?? ""
            let branch = try src.requireRef("branch")
            let repo = "/repositories/\(seg(src.repository))"
            let head: String
            do {
                head = try await client.call(.GET, "\(repo)/branches/\(seg(branch))")["commit_id"].text
            } catch {
                if case .server(404, _, _) = error { throw .usage("\(src) is not on a branch: commit needs one (tarn local checkout BRANCH)") }
                throw error
            }
            if !force {
                let staged = try await client.list("\(repo)/branches/\(seg(branch))/diff", query: [("prefix", prefix)])
                if !staged.isEmpty {
                    throw .server(status: 412, message: "branch \(branch) has uncommitted changes under \(prefix.isEmpty ? "its root" : prefix) (use --force)",
                                  body: .object(["paths": .array(staged.map { $0["path"] })]))
                }
                if head != index.commit, !(try await remoteChanges(client, index)).isEmpty {
                    throw .server(status: 412, message: "\(branch) changed under \(prefix) since the last sync: run `tarn local pull` first (or --force)", body: nil)
                }
            }
            let changes = index.localChanges(directory)
            if changes.isEmpty { throw .usage("nothing to commit in \(directory)") }
            let uploads = changes.filter { $0.change != .removed }.map(\.path)
            let dir = directory
            let done = Uploaded()
            try await APIClient.forEach(uploads, parallelism: parallelism) { path throws(ClientError) in
                let file = dir + "/" + path
                guard let st = LocalIndex.stat(file), let md5 = APIClient.md5(file: file) else { throw .local("cannot read \(file)") }
                _ = try await client.upload(file: file, to: LakeFSURI(repository: src.repository, ref: branch, path: prefix + path))
                done.add(path, LocalIndex.File(md5: md5, size: st.size, mtime: st.mtime))
            }
            let removed = changes.filter { $0.change == .removed }.map(\.path)
            for start in stride(from: 0, to: removed.count, by: 1000) {
                let batch = removed[start..<min(start + 1000, removed.count)].map { JSON.string(prefix + $0) }
                _ = try await client.call(.POST, "\(repo)/branches/\(seg(branch))/objects/delete", json: .object(["paths": .array(batch)]))
            }
            let commit = try await client.call(.POST, "\(repo)/branches/\(seg(branch))/commits",
                                               json: .object(["message": .string(message), "metadata": .object(try pairs(meta))]))
            for (path, file) in done.files { index.files[path] = file }
            for path in removed { index.files[path] = nil }
            // With --force the branch may hold others' changes too: bring those in, leaving the
            // files just committed as they are.
            _ = try await sync(client, &index, directory, to: commit["id"].text, parallelism: parallelism,
                               skip: Set(changes.map { prefix + $0.path }))
            try index.save(directory)
            out.document(.object(["commit": commit["id"], "uploaded": .number(Double(uploads.count)), "deleted": .number(Double(removed.count))])) {
                ["Committed \(uploads.count) changed and \(removed.count) removed files to \(src): \(commit["id"].text)"]
            }
        }
    }

    struct Pull: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Bring the folder to the head of its ref.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Folder (default: .)") var directory = "."
        @Flag(help: "Overwrite local changes.") var force = false
        @Option(name: [.short, .long], help: "Transfers at once.") var parallelism = 8

        func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
            var index = try LocalIndex.load(directory)
            try await moveTo(client, &index, directory, ref: try index.source.requireRef(), force: force, parallelism: parallelism, out)
        }
    }

    struct Checkout: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Switch the folder to another ref (branch, tag or commit).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Folder") var directory: String
        @Option(help: "The ref to switch to.") var ref: String
        @Flag(help: "Overwrite local changes.") var force = false
        @Option(name: [.short, .long], help: "Transfers at once.") var parallelism = 8

        func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
            var index = try LocalIndex.load(directory)
            try await moveTo(client, &index, directory, ref: ref, force: force, parallelism: parallelism, out)
        }
    }
}

/// Files uploaded by parallel tasks, collected for the index.
final class Uploaded: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var files: [String: LocalIndex.File] = [:]
    func add(_ path: String, _ file: LocalIndex.File) { lock.lock(); files[path] = file; lock.unlock() }
}

/// The commit ID a ref points at now.
func commitID(_ client: APIClient, _ u: LakeFSURI) async throws(ClientError) -> String {
    try await client.call(.GET, "/repositories/\(seg(u.repository))/commits/\(seg(try u.requireRef()))")["id"].text
}

/// Changes under the checkout's prefix between its commit and its ref's head now.
func remoteChanges(_ client: APIClient, _ index: LocalIndex) async throws(ClientError) -> [JSON] {
    let head = try await commitID(client, index.source)
    guard head != index.commit else { return [] }
    return try await client.list("/repositories/\(seg(index.source.repository))/refs/\(seg(index.commit))/diff/\(seg(head))",
                                 query: [("type", "two_dot"), ("prefix", index.source.path ?? "")])
}

/// Pull and checkout: refuse to lose local changes unless forced, then sync to `ref`'s head.
func moveTo(_ client: APIClient, _ index: inout LocalIndex, _ dir: String, ref: String, force: Bool, parallelism: Int,
            _ out: Output) async throws(ClientError) {
    let local = index.localChanges(dir)
    if !local.isEmpty && !force {
        throw .server(status: 412, message: "\(dir) has local changes (commit them, or --force to overwrite)",
                      body: .object(["paths": .array(local.map { .string($0.path) })]))
    }
    var target = index.source
    target.ref = ref
    let head = try await commitID(client, target)
    // Forced: forget what changed locally, so sync rewrites those files too.
    for (path, change) in local where change != .added { index.files[path]?.md5 = "" }
    let n = try await sync(client, &index, dir, to: head, parallelism: parallelism, refresh: local.map(\.path))
    index.source = target
    try index.save(dir)
    out.document(.object(["commit": .string(head), "updated": .number(Double(n))])) { ["\(target) at \(head): \(n) files updated."] }
}

/// Makes `dir` hold the objects under the checkout's prefix at `commit`: downloads what was
/// added or changed since the index's commit (everything for a fresh clone), removes what was
/// deleted, and records each file. Returns how many files were written or removed.
func sync(_ client: APIClient, _ index: inout LocalIndex, _ dir: String, to commit: String, parallelism: Int,
          refresh: [String] = [], skip: Set<String> = []) async throws(ClientError) -> Int {
    let src = index.source, prefix = src.path ?? ""
    let repo = src.repository
    var fetch: [String] = []
    var remove: [String] = []
    if index.commit.isEmpty {
        fetch = try await client.listObjects(LakeFSURI(repository: repo, ref: commit, path: prefix)).map { $0["path"].text }
    } else if index.commit != commit {
        let diff = try await client.list("/repositories/\(seg(repo))/refs/\(seg(index.commit))/diff/\(seg(commit))",
                                         query: [("type", "two_dot"), ("prefix", prefix)])
        for c in diff where c["path_type"].text != "common_prefix" && !skip.contains(c["path"].text) {
            if c["type"].text == "removed" { remove.append(c["path"].text) } else { fetch.append(c["path"].text) }
        }
    }
    // Files changed locally (pull --force) come back as they are at the commit.
    let listed = Set(fetch + remove)
    for rel in refresh where !listed.contains(prefix + rel) {
        if (try? await client.stat(LakeFSURI(repository: repo, ref: commit, path: prefix + rel))) != nil { fetch.append(prefix + rel) } else { remove.append(prefix + rel) }
    }
    let done = Uploaded()
    try await APIClient.forEach(fetch, parallelism: parallelism) { path throws(ClientError) in
        let rel = String(path.dropFirst(prefix.count))
        guard !rel.isEmpty, !rel.split(separator: "/").contains("..") else { return }
        let file = dir + "/" + rel
        let got = try await client.download(LakeFSURI(repository: repo, ref: commit, path: path), to: file)
        guard let st = LocalIndex.stat(file) else { throw .local("cannot stat \(file)") }
        done.add(rel, LocalIndex.File(md5: got.md5, size: st.size, mtime: st.mtime))
    }
    for (rel, file) in done.files { index.files[rel] = file }
    for path in remove {
        let rel = String(path.dropFirst(prefix.count))
        try? FileManager.default.removeItem(atPath: dir + "/" + rel)
        index.files[rel] = nil
    }
    index.commit = commit
    return done.files.count + remove.count
}
