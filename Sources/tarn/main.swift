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
        if quickstart {
            print("Tarn is listening on http://\(host == "0.0.0.0" ? "127.0.0.1" : host):\(port) (data in \(dataDir))")
            print("export LAKECTL_SERVER_ENDPOINT_URL=http://\(host == "0.0.0.0" ? "127.0.0.1" : host):\(port)")
        }
        try await buildApplication(catalog: catalog, configuration: config, logger: logger).runService()
    }
}
