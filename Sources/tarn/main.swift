import ArgumentParser
import Foundation
import Logging
import TarnAuth
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
        let env = ProcessInfo.processInfo.environment
        var adminKey: AccessKey?
        if let id = env["TARN_ADMIN_ACCESS_KEY_ID"], let secret = env["TARN_ADMIN_SECRET_ACCESS_KEY"], !id.isEmpty, !secret.isEmpty {
            adminKey = AccessKey(accessKeyID: id, secretAccessKey: secret)
        }
        let config = ServerConfiguration(host: host, port: port, dataDirectory: URL(fileURLWithPath: dataDir), adminKey: adminKey)
        let catalog = try Catalog(dataDirectory: config.dataDirectory)
        let authenticator = try openAuthenticator(catalog: catalog, dataDirectory: config.dataDirectory)
        let admin = try authenticator.ensureAdmin(fixed: config.adminKey)
        let logger = Logger(label: "tarn")
        let shownHost = host == "0.0.0.0" ? "127.0.0.1" : host
        let quickstart = self.quickstart
        let dataDir = self.dataDir
        // Printed once the socket accepts connections, so a script (or a test) that waits for
        // this line can use the server at once; with --listen HOST:0 it names the chosen port.
        let app = buildApplication(catalog: catalog, authenticator: authenticator, configuration: config, logger: logger) { bound in
            var lines = ["Tarn is listening on http://\(shownHost):\(bound)"]
            if quickstart {
                let url = "http://\(shownHost):\(bound)"
                lines += [
                    "Data directory: \(dataDir)",
                    "Admin access key ID:     \(admin.accessKeyID)",
                    "Admin secret access key: \(admin.secretAccessKey)",
                    "",
                    "# lakeFS clients (lakectl, lakefs, lakefs-spec):",
                    "export LAKECTL_SERVER_ENDPOINT_URL=\(url)",
                    "export LAKECTL_CREDENTIALS_ACCESS_KEY_ID=\(admin.accessKeyID)",
                    "export LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY=\(admin.secretAccessKey)",
                    "# S3 clients (the S3 gateway arrives with its own issue):",
                    "export AWS_ENDPOINT_URL=\(url)",
                    "export AWS_ACCESS_KEY_ID=\(admin.accessKeyID)",
                    "export AWS_SECRET_ACCESS_KEY=\(admin.secretAccessKey)",
                ]
            }
            print(lines.joined(separator: "\n"))
            fflush(nil)
        }
        try await runUntilSignalled(app, logger: logger) {
            print("Tarn is shutting down: finishing requests in flight")
            fflush(nil)
        }
        try catalog.metadata.close()
        print("Tarn stopped")
        fflush(nil)
    }
}
