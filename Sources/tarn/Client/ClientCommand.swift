import ArgumentParser
import Foundation
import TarnClient

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// Options every client command takes.
struct ClientOptions: ParsableArguments {
    @Option(name: [.short, .long], help: "Configuration file (default ~/.tarn.yaml, then ~/.lakectl.yaml).")
    var config: String?

    @Option(help: "text (tables, for people) or json (one document on stdout, for scripts).")
    var output: OutputFormat = .text
}

/// What a command prints: tables or lines for people, one JSON document for scripts.
struct Output {
    let json: Bool

    /// A listing: the server's documents as a JSON array, or a table of `columns`.
    func list(_ items: [JSON], columns: [(String, (JSON) -> String)]) {
        if json { print(JSON.array(items).rendered()); return }
        table([columns.map(\.0)] + items.map { item in columns.map { $0.1(item) } })
    }

    /// One document, or `lines` of text.
    func document(_ doc: JSON, lines: () -> [String]) {
        if json { print(doc.rendered()) } else { lines().forEach { print($0) } }
    }

    func table(_ rows: [[String]]) {
        guard let first = rows.first else { return }
        var widths = first.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        for (n, row) in rows.enumerated() {
            let cells = row.enumerated().map { i, c in i == row.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
            print(n == 0 ? cells.joined(separator: "  ").uppercased() : cells.joined(separator: "  "))
        }
    }
}

/// A command that talks to the server: it resolves the configuration, runs, and turns
/// failures into one line on stderr (or a JSON object on stdout) and the documented exit code.
protocol ClientCommand: AsyncParsableCommand {
    var options: ClientOptions { get }
    func execute(_ client: APIClient, _ out: Output) async throws(ClientError)
}

extension ClientCommand {
    func run() async throws {
        let out = Output(json: options.output == .json)
        var client: APIClient?
        do {
            let configuration = try ClientConfiguration.resolve(file: options.config)
            client = APIClient(configuration)
            try await execute(client!, out)
            await client?.shutdown()
        } catch {
            await client?.shutdown()
            if out.json { print(error.json.rendered()) } else { FileHandle.standardError.write(Data("tarn: \(error)\n".utf8)) }
            throw ExitCode(error.exitCode)
        }
    }
}

/// `lakefs://…` arguments, parsed.
func uri(_ text: String) throws(ClientError) -> LakeFSURI { try LakeFSURI(parsing: text) }

func seg(_ s: String) -> String { APIClient.segment(s) }

/// `k=v` pairs of `--meta`.
func pairs(_ items: [String]) throws(ClientError) -> [String: JSON] {
    var out: [String: JSON] = [:]
    for item in items {
        guard let eq = item.firstIndex(of: "=") else { throw .usage("expected key=value, got \(item)") }
        out[String(item[..<eq])] = .string(String(item[item.index(after: eq)...]))
    }
    return out
}

/// Unix seconds as `2026-11-25 04:40:00 UTC`.
func time(_ j: JSON) -> String {
    guard let s = j.int else { return j.text }
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "UTC")
    f.dateFormat = "yyyy-MM-dd HH:mm:ss 'UTC'"
    return f.string(from: Date(timeIntervalSince1970: TimeInterval(s)))
}
