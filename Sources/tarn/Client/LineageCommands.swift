import ArgumentParser
import Foundation
import TarnClient

/// `tarn run`: record training, evaluation and ETL runs with their inputs pinned to commits.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Lineage runs: inputs pinned to commit IDs, outputs, metrics.",
                                                    subcommands: [Start.self, Finish.self, Show.self, List.self, Delete.self])

    struct Start: ClientCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start a run: tarn run start --name JOB --input lakefs://REPO/REF[/PATH]… [--param k=v]… [--env]",
            discussion: "Every input's ref is resolved to its commit ID now; the run reads those commits forever. With --env, prints export lines: TARN_RUN_ID and TARN_INPUT_0, TARN_INPUT_1, … (the pinned s3:// URIs, in --input order).")
        @OptionGroup var options: ClientOptions
        @Option(help: "The job's name (train-resnet).") var name: String
        @Option(help: "lakefs://REPO/REF[/PATH] (repeatable).") var input: [String] = []
        @Option(help: "Parameter key=value (repeatable).") var param: [String] = []
        @Option(name: .customLong("external-id"), help: "External ID key=value, e.g. mlflow=RUN (repeatable).") var externalID: [String] = []
        @Flag(help: "Print shell export lines instead of a description.") var env = false

        func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
            let run = try await client.call(.POST, "/lineage/runs", json: .object([
                "name": .string(name), "inputs": .array(input.map(JSON.string)), "params": .object(try pairs(param)),
                "external_ids": .object(try pairs(externalID)),
            ]))
            if env && !out.json {
                print("export TARN_RUN_ID=\(run["id"].text)")
                for (i, input) in run["inputs"].array.enumerated() { print("export TARN_INPUT_\(i)=\(shellQuoted(input["s3_uri"].text))") }
                return
            }
            out.document(run) { describeRun(run) }
        }
    }

    struct Finish: ClientCommand {
        static let configuration = CommandConfiguration(
            abstract: "Finish a run: tarn run finish RUN --status completed|failed [--produced URI]… [--metric k=v]…")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Run ID.") var run: String
        @Option(help: "completed or failed.") var status = "completed"
        @Option(help: "What the run produced: lakefs://REPO/REF[/PATH] (pinned to its commit now) or any URI (repeatable).") var produced: [String] = []
        @Option(help: "Metric key=number (repeatable).") var metric: [String] = []

        func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
            var metrics: [String: JSON] = [:]
            for (k, v) in try pairs(metric) {
                guard let n = Double(v.text) else { throw .usage("metric \(k) must be a number, got \(v.text)") }
                metrics[k] = .number(n)
            }
            let done = try await client.call(.POST, "/lineage/runs/\(seg(run))/finish", json: .object([
                "status": .string(status), "outputs": .array(produced.map(JSON.string)), "metrics": .object(metrics),
            ]))
            out.document(done) { describeRun(done) }
        }
    }

    struct Show: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "One run with its pinned inputs and outputs.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Run ID.") var run: String

        func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
            let r = try await client.call(.GET, "/lineage/runs/\(seg(run))")
            out.document(r) { describeRun(r) }
        }
    }

    struct List: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Runs, newest first.")
        @OptionGroup var options: ClientOptions
        @Option(help: "Only runs of this job name.") var name: String?
        @Option(help: "running, completed or failed.") var status: String?
        @Option(help: "Only runs that read or wrote this repository.") var repository: String?
        @Option(help: "Only runs with an input pinned to this commit ID.") var commit: String?
        @Option(help: "At most this many runs.") var amount = 100

        func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
            let runs = try await client.list("/lineage/runs", query: [("name", name), ("status", status), ("repository", repository), ("commit", commit)],
                                             limit: amount)
            out.list(runs, columns: [("id", { $0["id"].text }), ("name", { $0["name"].text }), ("status", { $0["status"].text }),
                                     ("started", { $0["started_at"].text }),
                                     ("inputs", { $0["inputs"].array.map { $0["lakefs_uri"].text }.joined(separator: " ") })])
        }
    }

    struct Delete: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a run (its commits are no longer pinned by it).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Run ID.") var run: String

        func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
            _ = try await client.call(.DELETE, "/lineage/runs/\(seg(run))")
            out.document(.object(["deleted": .string(run)])) { ["Run deleted: \(run)"] }
        }
    }
}

func describeRun(_ r: JSON) -> [String] {
    var lines = ["Run \(r["id"].text): \(r["name"].text), \(r["status"].text)", "Started: \(r["started_at"].text)"]
    if let end = r["ended_at"].string { lines.append("Ended: \(end)") }
    for (k, v) in r["params"].object.sorted(by: { $0.key < $1.key }) { lines.append("Param: \(k) = \(v.text)") }
    for (k, v) in r["external_ids"].object.sorted(by: { $0.key < $1.key }) { lines.append("External ID: \(k) = \(v.text)") }
    for (k, v) in r["metrics"].object.sorted(by: { $0.key < $1.key }) { lines.append("Metric: \(k) = \(v.text)") }
    for i in r["inputs"].array { lines.append("Input: \(i["uri"].text) → \(i["lakefs_uri"].text) (\(i["s3_uri"].text))") }
    for o in r["outputs"].array { lines.append("Output: \(o["lakefs_uri"].string ?? o["uri"].text)") }
    return lines
}

func shellQuoted(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

/// `tarn lineage`: where data came from and where it went.
struct LineageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "lineage", abstract: "Provenance, impact and pinned commits.",
                                                    subcommands: [Provenance.self, Impact.self, Pins.self])

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, json, dot }

    /// What provenance and impact both take: the dataset version, how deep, how to print.
    struct Query: ParsableArguments {
        @Argument(help: "lakefs://REPO/REF[/PATH]") var target: String
        @Option(help: "Runs deep (default 5).") var depth = 5
        @Option(help: "text (a tree), json or dot (Graphviz).") var format: Format = .text

        /// The server's answer, or nil once it was printed as JSON.
        func fetch(_ client: APIClient, _ out: Output, _ path: String) async throws(ClientError) -> JSON? {
            let answer = try await client.call(.GET, path, query: [("uri", target), ("depth", String(depth))])
            if out.json || format == .json { Swift.print(answer.rendered()); return nil }
            return answer
        }

        func show(_ graph: Graph, _ lines: [String]) {
            if format == .dot { Swift.print(graph.dot) } else { lines.forEach { Swift.print($0) } }
        }
    }

    struct Provenance: ClientCommand {
        static let configuration = CommandConfiguration(
            abstract: "The runs that produced a commit or object, their inputs, and theirs: tarn lineage provenance lakefs://REPO/REF[/PATH]")
        @OptionGroup var options: ClientOptions
        @OptionGroup var query: Query

        func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
            guard let p = try await query.fetch(client, out, "/lineage/provenance") else { return }
            var graph = Graph()
            var lines: [String] = []
            func walk(_ node: JSON, _ indent: String) {
                let d = node["dataset"]
                lines.append(indent + d["uri"].text)
                for producer in node["produced_by"].array {
                    let run = producer["run"]
                    lines.append(indent + "  ← run \(run["name"].text) \(run["id"].text) (\(run["status"].text), \(run["started_at"].text))")
                    graph.edge(run: run, to: d["uri"].text)
                    for input in producer["inputs"].array {
                        graph.edge(from: input["dataset"]["uri"].text, run: run)
                        walk(input, indent + "      ")
                    }
                }
            }
            walk(p, "")
            query.show(graph, lines)
        }
    }

    struct Impact: ClientCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every run that read this commit or object version, and the runs downstream: tarn lineage impact lakefs://REPO/REF[/PATH]")
        @OptionGroup var options: ClientOptions
        @OptionGroup var query: Query

        func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
            guard let i = try await query.fetch(client, out, "/lineage/impact") else { return }
            var graph = Graph()
            var lines = ["\(i["dataset"]["uri"].text): \(i["count"].text) run(s)"]
            func walk(_ node: JSON, _ indent: String) {
                let run = node["run"]
                lines.append(indent + "→ run \(run["name"].text) \(run["id"].text) (\(run["status"].text)) via \(node["via"]["uri"].text)")
                graph.edge(from: node["via"]["uri"].text, run: run)
                for o in run["outputs"].array { graph.edge(run: run, to: o["lakefs_uri"].string ?? o["uri"].text) }
                for next in node["downstream"].array { walk(next, indent + "    ") }
            }
            for node in i["runs"].array { walk(node, "  ") }
            query.show(graph, lines)
        }
    }

    struct Pins: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Commits recorded runs read (kept by garbage collection): tarn lineage pins lakefs://REPO")
        @OptionGroup var options: ClientOptions
        @Argument(help: "lakefs://REPO") var repository: String

        func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
            let pins = try await client.list("/lineage/pins", query: [("repository", try uri(repository).repository)])
            out.list(pins, columns: [("commit", { $0["commit_id"].text }), ("runs", { $0["runs"].array.map(\.text).joined(separator: " ") })])
        }
    }

    /// Datasets (boxes) and runs (ellipses) as a Graphviz digraph, each edge once.
    struct Graph {
        var edges: [(String, String)] = []
        var labels: [String: String] = [:]

        mutating func edge(from dataset: String, run: JSON) { add(dataset, "run:" + run["id"].text, run) }
        mutating func edge(run: JSON, to dataset: String) { add("run:" + run["id"].text, dataset, run) }

        private mutating func add(_ a: String, _ b: String, _ run: JSON) {
            labels["run:" + run["id"].text] = run["name"].text
            if !edges.contains(where: { $0 == (a, b) }) { edges.append((a, b)) }
        }

        var dot: String {
            func q(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
            var out = ["digraph lineage {", "  rankdir=LR;"]
            for node in Set(edges.flatMap { [$0.0, $0.1] }).sorted() {
                if let label = labels[node] { out.append("  \(q(node)) [shape=ellipse, label=\(q(label + "\n" + node.dropFirst(4).prefix(8)))];") }
                else { out.append("  \(q(node)) [shape=box];") }
            }
            for (a, b) in edges { out.append("  \(q(a)) -> \(q(b));") }
            return (out + ["}"]).joined(separator: "\n")
        }
    }
}
