import ArgumentParser
import Dispatch
import Foundation
import TarnClient

/// `tarn import`: lakectl's zero-copy import. The server lists the source and commits what it
/// found; this command starts it, reports progress until it ends, and cancels it on Ctrl-C.
struct ImportData: ClientCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import objects from S3 without copying them: tarn import --from s3://BUCKET/PREFIX --to lakefs://REPO/BRANCH/PATH",
        discussion: """
            Every object under the source prefix appears under the destination path, pointing at \
            its own bytes (Tarn never deletes them); one commit brings them in. Objects that were \
            under the destination path and are not in the source are removed in that commit.
            """)
    @OptionGroup var options: ClientOptions
    @Option(help: "s3://BUCKET/PREFIX to import.") var from: String
    @Option(help: "lakefs://REPO/BRANCH[/PATH] to import to.") var to: String
    @Option(name: [.short, .long], help: "Commit message.") var message = "Import objects"
    @Option(help: "Commit metadata key=value (repeatable).") var meta: [String] = []
    @Flag(help: "Print nothing while the import runs.") var noProgress = false

    func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
        guard from.hasPrefix("s3://") else { throw .usage("--from must be an s3:// URI, got \(from)") }
        let dest = try uri(to)
        let branch = try dest.requireRef("branch")
        let base = "/repositories/\(seg(dest.repository))/branches/\(seg(branch))/import"
        let location: JSON = .object(["type": .string("common_prefix"), "path": .string(from), "destination": .string(dest.path ?? "")])
        let started = try await client.call(.POST, base, json: .object([
            "paths": .array([location]),
            "commit": .object(["message": .string(message), "metadata": .object(try pairs(meta))]),
        ]))
        let id = started["id"].text
        let interrupted = Interrupt()
        let showProgress = !noProgress && !out.json && isatty(2) != 0
        while true {
            if interrupted.happened {
                _ = try? await client.call(.DELETE, base, query: [("id", id)])
                throw .failed("import \(id) cancelled")
            }
            let status = try await client.call(.GET, base, query: [("id", id)])
            if showProgress { FileHandle.standardError.write(Data("\rImported \(status["ingested_objects"].int ?? 0) objects".utf8)) }
            if status["completed"].bool == true {
                if showProgress { FileHandle.standardError.write(Data("\n".utf8)) }
                out.document(status) {
                    ["Imported \(status["ingested_objects"].int ?? 0) objects from \(from) to \(to).", ""] + describe(status["commit"])
                }
                return
            }
            if let message = status["error"]["message"].string {
                if showProgress { FileHandle.standardError.write(Data("\n".utf8)) }
                throw .failed("import failed: \(message)")
            }
            // Polling the server's status is the protocol here (lakectl polls too).
            try? await Task.sleep(for: .milliseconds(250))
        }
    }
}

/// Notes SIGINT instead of dying on it, so that the import can be cancelled first.
final class Interrupt: @unchecked Sendable {
    private let source: DispatchSourceSignal
    private let lock = NSLock()
    private var seen = false

    init() {
        signal(SIGINT, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { [unowned self] in
            lock.lock()
            seen = true
            lock.unlock()
        }
        source.resume()
    }

    var happened: Bool {
        lock.lock()
        defer { lock.unlock() }
        return seen
    }

    deinit {
        source.cancel()
        signal(SIGINT, SIG_DFL)
    }
}
