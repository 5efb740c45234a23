import ArgumentParser
import TarnClient

struct Repo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create, list and delete repositories.",
                                                    subcommands: [Create.self, List.self, Delete.self])

    struct Create: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Create a repository: tarn repo create lakefs://REPO STORAGE_NAMESPACE")
        @OptionGroup var options: ClientOptions
        @Argument(help: "lakefs://REPO") var repository: String
        @Argument(help: "Where its objects go (local://…, s3://…).") var storageNamespace: String
        @Option(name: [.short, .customLong("default-branch")], help: "Default branch (main).") var defaultBranch = "main"

        func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
            let r = try uri(repository)
            let repo = try await client.call(.POST, "/repositories", json: .object([
                "name": .string(r.repository), "storage_namespace": .string(storageNamespace), "default_branch": .string(defaultBranch)]))
            out.document(repo) { ["Repository: \(r)", "Storage namespace: \(repo["storage_namespace"].text)", "Default branch: \(repo["default_branch"].text)"] }
        }
    }

    struct List: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "List repositories.")
        @OptionGroup var options: ClientOptions
        @Option(help: "At most this many.") var amount = Int.max

        func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
            let repos = try await client.list("/repositories", limit: amount)
            out.list(repos, columns: [("repository", { $0["id"].text }), ("creation date", { time($0["creation_date"]) }),
                                      ("default ref", { $0["default_branch"].text }), ("storage namespace", { $0["storage_namespace"].text })])
        }
    }

    struct Delete: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a repository (its metadata; objects stay in the storage namespace).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "lakefs://REPO") var repository: String

        func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
            let r = try uri(repository)
            _ = try await client.call(.DELETE, "/repositories/\(seg(r.repository))")
            out.document(.object(["deleted": .string(r.description)])) { ["Repository deleted: \(r)"] }
        }
    }
}

struct Branch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create, list, show, delete, reset and revert branches.",
                                                    subcommands: [Create.self, List.self, Show.self, Delete.self, Reset.self, Revert.self])

    struct Create: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Create a branch: tarn branch create lakefs://REPO/BRANCH -s lakefs://REPO/REF")
        @OptionGroup var options: ClientOptions
        @Argument(help: "lakefs://REPO/BRANCH") var branch: String
        @Option(name: [.short, .long], help: "lakefs://REPO/REF to branch from.") var source: String

        func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
            let b = try uri(branch), s = try uri(source)
            guard b.repository == s.repository else { throw .usage("the source must be in the same repository") }
            let name = try b.requireRef("branch")
            _ = try await client.call(.POST, "/repositories/\(seg(b.repository))/branches",
                                      json: .object(["name": .string(name), "source": .string(try s.requireRef())]))
            let head = try await client.call(.GET, "/repositories/\(seg(b.repository))/branches/\(seg(name))")
            out.document(head) { ["Created branch '\(name)' \(head["commit_id"].text)"] }
        }
    }

    struct List: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "List a repository's branches.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "lakefs://REPO") var repository: String
        @Option(help: "At most this many.") var amount = Int.max

        func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
            let r = try uri(repository)
            let items = try await client.list("/repositories/\(seg(r.repository))/branches", limit: amount)
            out.list(items, columns: [("branch", { $0["id"].text }), ("commit id", { $0["commit_id"].text })])
        }
    }

    struct Show: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Show a branch's head commit.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "lakefs://REPO/BRANCH") var branch: String

        func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
            let b = try uri(branch)
            let head = try await client.call(.GET, "/repositories/\(seg(b.repository))/branches/\(seg(try b.requireRef("branch")))")
            out.document(head) { ["Commit ID: \(head["commit_id"].text)"] }
        }
    }

    struct Delete: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a branch.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "lakefs://REPO/BRANCH") var branch: String

        func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
            let b = try uri(branch)
            _ = try await client.call(.DELETE, "/repositories/\(seg(b.repository))/branches/\(seg(try b.requireRef("branch")))")
            out.document(.object(["deleted": .string(b.description)])) { ["Branch deleted: \(b)"] }
        }
    }

    struct Reset: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Drop a branch's uncommitted changes (all, under --prefix, or one --object).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "lakefs://REPO/BRANCH") var branch: String
        @Option(help: "Only changes under this path prefix.") var prefix: String?
        @Option(help: "Only this object's change.") var object: String?

        func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
            let b = try uri(branch)
            var body: [String: JSON] = ["type": "reset"]
            if let prefix { body = ["type": "common_prefix", "path": .string(prefix)] }
            if let object { body = ["type": "object", "path": .string(object)] }
            _ = try await client.call(.PUT, "/repositories/\(seg(b.repository))/branches/\(seg(try b.requireRef("branch")))", json: .object(body))
            out.document(.object(["reset": .string(b.description)])) { ["Branch reset: \(b)"] }
        }
    }

    struct Revert: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Revert commits on a branch: tarn branch revert lakefs://REPO/BRANCH COMMIT…")
        @OptionGroup var options: ClientOptions
        @Argument(help: "lakefs://REPO/BRANCH") var branch: String
        @Argument(help: "Commits (IDs or refs) to revert, newest first.") var commits: [String]
        @Option(name: [.short, .customLong("parent-number")], help: "For a merge commit: the parent to revert to (1-based).") var parentNumber = 0

        func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
            let b = try uri(branch)
            let name = try b.requireRef("branch")
            for c in commits {
                _ = try await client.call(.POST, "/repositories/\(seg(b.repository))/branches/\(seg(name))/revert",
                                          json: .object(["ref": .string(c), "parent_number": .number(Double(parentNumber))]))
            }
            let head = try await client.call(.GET, "/repositories/\(seg(b.repository))/branches/\(seg(name))")
            out.document(head) { ["Reverted \(commits.count) commit(s) on \(b): now at \(head["commit_id"].text)"] }
        }
    }
}

struct Tag: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create, list, show and delete tags.",
                                                    subcommands: [Create.self, List.self, Show.self, Delete.self])

    struct Create: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Create a tag: tarn tag create lakefs://REPO/TAG lakefs://REPO/REF")
        @OptionGroup var options: ClientOptions
        @Argument(help: "lakefs://REPO/TAG") var tag: String
        @Argument(help: "lakefs://REPO/REF it points at.") var ref: String

        func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
            let t = try uri(tag), r = try uri(ref)
            let made = try await client.call(.POST, "/repositories/\(seg(t.repository))/tags",
                                             json: .object(["id": .string(try t.requireRef("tag")), "ref": .string(try r.requireRef())]))
            out.document(made) { ["Created tag '\(made["id"].text)' (\(made["commit_id"].text))"] }
        }
    }

    struct List: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "List a repository's tags.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "lakefs://REPO") var repository: String
        @Option(help: "At most this many.") var amount = Int.max

        func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
            let r = try uri(repository)
            let items = try await client.list("/repositories/\(seg(r.repository))/tags", limit: amount)
            out.list(items, columns: [("tag", { $0["id"].text }), ("commit id", { $0["commit_id"].text })])
        }
    }

    struct Show: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Show the commit a tag points at.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "lakefs://REPO/TAG") var tag: String

        func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
            let t = try uri(tag)
            let doc = try await client.call(.GET, "/repositories/\(seg(t.repository))/tags/\(seg(try t.requireRef("tag")))")
            out.document(doc) { ["Tag \(doc["id"].text): \(doc["commit_id"].text)"] }
        }
    }

    struct Delete: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a tag.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "lakefs://REPO/TAG") var tag: String

        func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
            let t = try uri(tag)
            _ = try await client.call(.DELETE, "/repositories/\(seg(t.repository))/tags/\(seg(try t.requireRef("tag")))")
            out.document(.object(["deleted": .string(t.description)])) { ["Tag deleted: \(t)"] }
        }
    }
}
