import ArgumentParser
import Foundation
import TarnActions
import TarnClient

/// `tarn actions`: check action files before they are committed, and read what runs did.
struct Actions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Action files and the runs of their hooks.",
                                                    subcommands: [Validate.self, Runs.self])

    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check action files locally: every problem as FILE:LINE: message; exit 1 if any.")
        @Argument(help: "Action files (YAML).") var files: [String]

        func run() async throws {
            var bad = false
            for file in files {
                guard let data = FileManager.default.contents(atPath: file) else {
                    FileHandle.standardError.write(Data("\(file): cannot read the file\n".utf8))
                    bad = true
                    continue
                }
                switch Action.parse(String(decoding: data, as: UTF8.self), source: file) {
                case let .success(action):
                    let events = action.on.keys.map(\.rawValue).sorted().joined(separator: ", ")
                    print("\(file): ok: action '\(action.name)', \(action.hooks.count) hook(s) on \(events)")
                case let .failure(errors):
                    bad = true
                    for e in errors.errors { FileHandle.standardError.write(Data("\(e)\n".utf8)) }
                }
            }
            if bad { throw ExitCode(1) }
        }
    }

    struct Runs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Recorded action runs.", subcommands: [List.self, Describe.self])

        struct List: ClientCommand {
            static let configuration = CommandConfiguration(abstract: "A repository's runs, newest first: tarn actions runs list lakefs://REPO")
            @OptionGroup var options: ClientOptions
            @Argument(help: "lakefs://REPO") var repository: String
            @Option(help: "Only runs of this branch.") var branch: String?
            @Option(help: "Only runs of this commit ID.") var commit: String?
            @Option(help: "At most this many runs.") var amount = 100

            func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
                let u = try uri(repository)
                let runs = try await client.list("/repositories/\(seg(u.repository))/actions/runs",
                                                 query: [("branch", branch), ("commit", commit)], limit: amount)
                out.list(runs, columns: [("run id", { $0["run_id"].text }), ("event", { $0["event_type"].text }),
                                         ("branch", { $0["branch"].text }), ("status", { $0["status"].text }),
                                         ("start", { $0["start_time"].text }), ("commit", { String($0["commit_id"].text.prefix(16)) })])
            }
        }

        struct Describe: ClientCommand {
            static let configuration = CommandConfiguration(
                abstract: "One run with each hook's status, duration and output: tarn actions runs describe lakefs://REPO RUN_ID")
            @OptionGroup var options: ClientOptions
            @Argument(help: "lakefs://REPO") var repository: String
            @Argument(help: "Run ID.") var runID: String

            func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
                let u = try uri(repository)
                let base = "/repositories/\(seg(u.repository))/actions/runs/\(seg(runID))"
                let run = try await client.call(.GET, base)
                var hooks: [JSON] = []
                for h in try await client.list(base + "/hooks") {
                    let output = try await client.text(base + "/hooks/\(seg(h["hook_run_id"].text))/output")
                    guard case var .object(fields) = h else { continue }
                    fields["output"] = .string(output)
                    hooks.append(.object(fields))
                }
                guard case var .object(doc) = run else { return }
                doc["hooks"] = .array(hooks)
                out.document(.object(doc)) {
                    var lines = ["Run \(run["run_id"].text): \(run["event_type"].text) on \(run["branch"].text.isEmpty ? "-" : run["branch"].text), \(run["status"].text)",
                                 "Commit: \(run["commit_id"].text)", "Started: \(run["start_time"].text)  ended: \(run["end_time"].text)"]
                    for h in hooks {
                        lines.append("")
                        lines.append("Hook \(h["hook_run_id"].text): action '\(h["action"].text)' hook '\(h["hook_id"].text)': \(h["status"].text) (\(duration(h)))")
                        lines += h["output"].text.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }
                    }
                    return lines
                }
            }

            func duration(_ h: JSON) -> String {
                let f = ISO8601DateFormatter()
                f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
                guard let a = f.date(from: h["start_time"].text), let b = f.date(from: h["end_time"].text) else { return "?" }
                return String(format: "%.3f s", b.timeIntervalSince(a))
            }
        }
    }
}

/// `tarn branch-protect`: the branches of a repository that accept only merges and reverts.
struct BranchProtect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "branch-protect",
                                                    abstract: "Protect branches from direct writes, commits, resets and deletes.",
                                                    subcommands: [List.self, Add.self, Delete.self])

    static func path(_ repository: String) throws(ClientError) -> String {
        "/repositories/\(seg(try uri(repository).repository))/settings/branch_protection"
    }

    struct List: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "The rules: tarn branch-protect list lakefs://REPO")
        @OptionGroup var options: ClientOptions
        @Argument(help: "lakefs://REPO") var repository: String

        func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
            let rules = try await client.call(.GET, try BranchProtect.path(repository))
            out.list(rules.array, columns: [("branch name pattern", { $0["pattern"].text })])
        }
    }

    struct Add: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Add a rule: tarn branch-protect add lakefs://REPO 'PATTERN'")
        @OptionGroup var options: ClientOptions
        @Argument(help: "lakefs://REPO") var repository: String
        @Argument(help: "Branch name or glob (* and ?).") var pattern: String

        func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
            try await BranchProtect.update(client, repository, out) { patterns in
                if !patterns.contains(pattern) { patterns.append(pattern) }
            }
        }
    }

    struct Delete: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a rule: tarn branch-protect delete lakefs://REPO 'PATTERN'")
        @OptionGroup var options: ClientOptions
        @Argument(help: "lakefs://REPO") var repository: String
        @Argument(help: "The pattern, as listed.") var pattern: String

        func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
            try await BranchProtect.update(client, repository, out) { patterns throws(ClientError) in
                guard let i = patterns.firstIndex(of: pattern) else { throw .server(status: 404, message: "no rule with pattern \(pattern)", body: nil) }
                patterns.remove(at: i)
            }
        }
    }

    /// Read the rules with their ETag, change them, write them back with If-Match: an edit
    /// made by someone else in between fails (exit 4) instead of being overwritten.
    static func update(_ client: APIClient, _ repository: String, _ out: Output,
                       _ change: (inout [String]) throws(ClientError) -> Void) async throws(ClientError) {
        let path = try path(repository)
        let (rules, headers) = try await client.exchange(.GET, path)
        var patterns = rules.array.map { $0["pattern"].text }
        try change(&patterns)
        let body = JSON.array(patterns.map { .object(["pattern": .string($0)]) })
        _ = try await client.exchange(.PUT, path, json: body, headers: headers["ETag"].first.map { [("If-Match", $0)] } ?? [])
        out.list(body.array, columns: [("branch name pattern", { $0["pattern"].text })])
    }
}
