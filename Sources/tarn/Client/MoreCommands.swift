import ArgumentParser
import Foundation
import TarnClient

struct CherryPick: ClientCommand {
    static let configuration = CommandConfiguration(commandName: "cherry-pick",
                                                    abstract: "Apply a commit's changes to a branch: tarn cherry-pick lakefs://REPO/COMMIT lakefs://REPO/BRANCH")
    @OptionGroup var options: ClientOptions
    @Argument(help: "lakefs://REPO/COMMIT") var commit: String
    @Argument(help: "lakefs://REPO/BRANCH") var branch: String
    @Option(name: [.short, .customLong("parent-number")], help: "For a merge commit: the parent to diff against (1-based).") var parentNumber = 0

    func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
        let c = try uri(commit), b = try uri(branch)
        let made = try await client.call(.POST, "/repositories/\(seg(b.repository))/branches/\(seg(try b.requireRef("branch")))/cherry-pick",
                                         json: .object(["ref": .string(try c.requireRef("commit")), "parent_number": .number(Double(parentNumber))]))
        out.document(made) { ["Cherry-picked \(c.ref!) onto \(b.ref!):"] + describe(made) }
    }
}

struct FindMergeBase: ClientCommand {
    static let configuration = CommandConfiguration(commandName: "find-merge-base",
                                                    abstract: "The merge base of two refs: tarn find-merge-base lakefs://REPO/A lakefs://REPO/B")
    @OptionGroup var options: ClientOptions
    @Argument(help: "lakefs://REPO/REF") var source: String
    @Argument(help: "lakefs://REPO/REF") var destination: String

    func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
        let s = try uri(source), d = try uri(destination)
        let base = try await client.call(.GET, "/repositories/\(seg(s.repository))/refs/\(seg(try s.requireRef()))/merge/\(seg(try d.requireRef()))")
        out.document(base) { ["Merge base: \(base["base_commit_id"].text)"] }
    }
}

struct Annotate: ClientCommand {
    static let configuration = CommandConfiguration(abstract: "Each object under a path with the last commit that changed it.")
    @OptionGroup var options: ClientOptions
    @Argument(help: "lakefs://REPO/REF[/PATH]") var path: String
    @Flag(name: [.short, .long], help: "Every object below, not one level.") var recursive = false

    func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
        let u = try uri(path)
        let ref = try u.requireRef()
        let objects = try await client.listObjects(u, delimiter: recursive ? nil : "/").filter { $0["path_type"].text == "object" }
        var rows: [JSON] = []
        for o in objects {
            let last = try await client.list("/repositories/\(seg(u.repository))/refs/\(seg(ref))/commits",
                                             query: [("objects", o["path"].text), ("limit", "true")], limit: 1).first ?? .null
            rows.append(.object(["path": o["path"], "commit": last]))
        }
        out.list(rows, columns: [("path", { $0["path"].text }), ("commit", { String($0["commit"]["id"].text.prefix(16)) }),
                                 ("committer", { $0["commit"]["committer"].text }), ("date", { time($0["commit"]["creation_date"]) }),
                                 ("message", { $0["commit"]["message"].text })])
    }
}

struct Auth: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Users and their access keys.", subcommands: [Users.self])

    struct Users: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create, list and delete users; manage their credentials.",
                                                        subcommands: [Create.self, List.self, Delete.self, Credentials.self])

        struct Create: ClientCommand {
            static let configuration = CommandConfiguration(abstract: "Create a user.")
            @OptionGroup var options: ClientOptions
            @Option(help: "User ID.") var id: String
            func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
                let u = try await client.call(.POST, "/auth/users", json: .object(["id": .string(id)]))
                out.document(u) { ["User created: \(u["id"].text)"] }
            }
        }

        struct List: ClientCommand {
            static let configuration = CommandConfiguration(abstract: "List users.")
            @OptionGroup var options: ClientOptions
            func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
                let users = try await client.list("/auth/users")
                out.list(users, columns: [("id", { $0["id"].text }), ("creation date", { time($0["creation_date"]) })])
            }
        }

        struct Delete: ClientCommand {
            static let configuration = CommandConfiguration(abstract: "Delete a user.")
            @OptionGroup var options: ClientOptions
            @Option(help: "User ID.") var id: String
            func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
                _ = try await client.call(.DELETE, "/auth/users/\(seg(id))")
                out.document(.object(["deleted": .string(id)])) { ["User deleted: \(id)"] }
            }
        }

        struct Credentials: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "A user's access keys.", subcommands: [Create.self, List.self, Delete.self])

            struct Create: ClientCommand {
                static let configuration = CommandConfiguration(abstract: "Create an access key (the secret is shown once).")
                @OptionGroup var options: ClientOptions
                @Option(help: "User ID.") var id: String
                func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
                    let c = try await client.call(.POST, "/auth/users/\(seg(id))/credentials")
                    out.document(c) { ["Access key ID: \(c["access_key_id"].text)", "Secret access key: \(c["secret_access_key"].text)"] }
                }
            }

            struct List: ClientCommand {
                static let configuration = CommandConfiguration(abstract: "List a user's access keys.")
                @OptionGroup var options: ClientOptions
                @Option(help: "User ID.") var id: String
                func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
                    let keys = try await client.list("/auth/users/\(seg(id))/credentials")
                    out.list(keys, columns: [("access key id", { $0["access_key_id"].text }), ("issued", { time($0["creation_date"]) })])
                }
            }

            struct Delete: ClientCommand {
                static let configuration = CommandConfiguration(abstract: "Delete an access key.")
                @OptionGroup var options: ClientOptions
                @Option(help: "User ID.") var id: String
                @Option(name: .customLong("access-key-id")) var accessKeyID: String
                func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
                    _ = try await client.call(.DELETE, "/auth/users/\(seg(id))/credentials/\(seg(accessKeyID))")
                    out.document(.object(["deleted": .string(accessKeyID)])) { ["Access key deleted: \(accessKeyID)"] }
                }
            }
        }
    }
}
