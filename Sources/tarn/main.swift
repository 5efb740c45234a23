import ArgumentParser
import Foundation
import Logging
import TarnCatalog
import TarnServer

@main
struct Tarn: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tarn",
        abstract: "Git for data lakes: a lakeFS-compatible versioning server and its client.",
        subcommands: [Serve.self]
    )
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the Tarn server.")

    @Option(help: "Address to listen on, HOST:PORT.")
    var listen: String = "0.0.0.0:8000"

    @Option(name: .customLong("data-dir"), help: "Directory for the metadata database and local object storage.")
    var dataDir: String = "./tarn-data"

    @Flag(help: "Keep everything under the data directory and print the endpoint.")
    var quickstart = false

    func run() async throws {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]) else {
            throw ValidationError("--listen must be HOST:PORT")
        }
        let host = String(listen[..<colon])
        let config = ServerConfiguration(host: host, port: port, dataDirectory: URL(fileURLWithPath: dataDir))
        let catalog = try Catalog(dataDirectory: config.dataDirectory)
        let logger = Logger(label: "tarn")
        let shownHost = host == "0.0.0.0" ? "127.0.0.1" : host
        let quickstart = self.quickstart
        let dataDir = self.dataDir
        // Printed once the socket accepts connections, so a script (or a test) that waits for
        // this line can use the server at once; with --listen HOST:0 it names the chosen port.
        let app = buildApplication(catalog: catalog, configuration: config, logger: logger) { bound in
            var lines = ["Tarn is listening on http://\(shownHost):\(bound)"]
            if quickstart {
                lines += ["Data directory: \(dataDir)", "export LAKECTL_SERVER_ENDPOINT_URL=http://\(shownHost):\(bound)"]
            }
            print(lines.joined(separator: "\n"))
            fflush(nil)
        }
        try await app.runService()
    }
}
