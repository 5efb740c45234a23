import ArgumentParser
import Foundation
import Logging
import TarnAuth
import TarnCatalog
import TarnServer

@main
struct Tarn: AsyncParsableCommand {
    /// ArgumentParser's own exit code for bad arguments is 64; the CLI documents 2 (as most
    /// Unix tools, and as the issue asks).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? AsyncParsableCommand { try await command.run() } else { try command.run() }
        } catch {
            guard exitCode(for: error) == .validationFailure else { exit(withError: error) }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            exit(withError: ExitCode(2))
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "tarn",
        abstract: "Git for data lakes: a lakeFS-compatible versioning server and its client.",
        subcommands: [Serve.self, Repo.self, Branch.self, Tag.self, Commit.self, Log.self, Diff.self, Merge.self, CherryPick.self, FindMergeBase.self, ImportData.self, Annotate.self, Show.self, FS.self, Local.self, Auth.self, Actions.self, BranchProtect.self, Run.self, LineageCommand.self,
                      Config.self, Doctor.self]
    )
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the Tarn server.",
        discussion: """
            Settings come from flags, then TARN_* environment variables, then the YAML file of \
            --config (or TARN_CONFIG). Keys: \
            \(ServerConfiguration.keys.map { "\($0.key) (TARN_\($0.key.uppercased().replacingOccurrences(of: ".", with: "_"))): \($0.help)" }.joined(separator: "; ")).
            """
    )

    @Option(help: "YAML configuration file.")
    var config: String?

    @Option(help: "Address to listen on, HOST:PORT (default 0.0.0.0:8000).")
    var listen: String?

    @Option(name: .customLong("data-dir"), help: "Directory for the database, the server key and local objects (default ./tarn-data).")
    var dataDir: String?

    @Option(name: .customLong("database-url"), help: "Metadata database, sqlite://PATH (default DATA_DIR/tarn.sqlite).")
    var databaseURL: String?

    @Option(name: .customLong("object-store-root"), help: "Root of local:// storage namespaces (default DATA_DIR/objects).")
    var objectStoreRoot: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (default info).")
    var logLevel: String?

    @Flag(name: .customLong("s3-create-bucket"), help: "Let S3 CreateBucket/DeleteBucket make and delete repositories.")
    var s3CreateBucket = false

    @Option(name: .customLong("blockstore-s3-endpoint"), help: "S3 service for s3:// namespaces, http(s)://HOST[:PORT].")
    var s3Endpoint: String?

    @Option(name: .customLong("blockstore-s3-region"), help: "Region of the S3 service (default AWS_REGION, else us-east-1).")
    var s3Region: String?

    @Flag(name: .customLong("blockstore-s3-force-path-style"), help: "Address the S3 service's buckets in the path.")
    var s3ForcePathStyle = false

    @Option(name: .customLong("blockstore-s3-access-key-id"), help: "Access key of the S3 service (default AWS_ACCESS_KEY_ID).")
    var s3AccessKeyID: String?

    @Option(name: .customLong("blockstore-s3-secret-access-key"), help: "Secret key of the S3 service (default AWS_SECRET_ACCESS_KEY).")
    var s3SecretAccessKey: String?

    @Option(name: .customLong("blockstore-s3-upload-part-size"), help: "Part size of large uploads to the S3 service, bytes (default 64 MiB).")
    var s3PartSize: String?

    @Option(name: .customLong("hooks-exec-allow"), help: "Comma-separated absolute paths of the programs exec hooks may run (default none).")
    var hooksExecAllow: String?

    @Option(name: .customLong("openlineage-url"), help: "POST every lineage run start and finish as an OpenLineage event to this URL.")
    var openLineageURL: String?

    @Flag(help: "Keep everything under the data directory and print the endpoint, the admin keys and export lines.")
    var quickstart = false

    func run() async throws {
        tuneAllocatorForStreaming()
        var flags: [String: String] = [:]
        flags["listen_address"] = listen
        flags["data_dir"] = dataDir
        flags["database.url"] = databaseURL
        flags["blockstore.local.path"] = objectStoreRoot
        flags["logging.level"] = logLevel
        if s3CreateBucket { flags["s3.create_bucket"] = "true" }
        flags["blockstore.s3.endpoint"] = s3Endpoint
        flags["blockstore.s3.region"] = s3Region
        if s3ForcePathStyle { flags["blockstore.s3.force_path_style"] = "true" }
        flags["blockstore.s3.credentials.access_key_id"] = s3AccessKeyID
        flags["blockstore.s3.credentials.secret_access_key"] = s3SecretAccessKey
        flags["blockstore.s3.upload_part_size"] = s3PartSize
        flags["hooks.exec_allow"] = hooksExecAllow
        flags["lineage.openlineage_url"] = openLineageURL
        let config: ServerConfiguration
        do {
            config = try ServerConfiguration.resolve(flags: flags, environment: ProcessInfo.processInfo.environment, configFile: self.config)
        } catch let problem as ServerConfiguration.Problem {
            throw ValidationError(problem.description)
        }
        let level = Logger.Level(rawValue: config.logLevel) ?? .info
        LoggingSystem.bootstrap { label in LogOutput.standardError.handler(label: label, level: level) }
        let logger = Logger(label: "tarn")
        let metrics = ServerMetrics.bootstrap()
        let catalog = try openCatalog(config)
        let authenticator = try openAuthenticator(catalog: catalog, dataDirectory: config.dataDirectory)
        let admin = try authenticator.ensureAdmin(fixed: config.adminKey)
        let shownHost = config.host == "0.0.0.0" ? "127.0.0.1" : config.host
        let quickstart = self.quickstart
        let dataDir = config.dataDirectory.path
        // Printed once the socket accepts connections, so a script (or a test) that waits for
        // this line can use the server at once; with --listen HOST:0 it names the chosen port.
        let app = buildApplication(catalog: catalog, authenticator: authenticator, configuration: config, logger: logger,
                                   metrics: metrics) { bound in
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
                    "# S3 clients (boto3, aws CLI, pyarrow...): bucket = repository, key = <ref>/<path>",
                    "export AWS_ENDPOINT_URL=\(url)",
                    "export AWS_ACCESS_KEY_ID=\(admin.accessKeyID)",
                    "export AWS_SECRET_ACCESS_KEY=\(admin.secretAccessKey)",
                ]
            }
            print(lines.joined(separator: "\n"))
            fflush(nil)
        }
        try await runUntilSignalled(app, logger: logger, onShutdown: {
            print("Tarn is shutting down: finishing requests in flight")
            fflush(nil)
        }, onRelaysLeft: { left in
            print("Tarn is waiting for \(left) relayed GET\(left == 1 ? "" : "s") to finish")
            fflush(nil)
        })
        // Folds the WALs into the database files, so a stopped server leaves self-contained
        // files. Committed data is already durable in the WAL, so a checkpoint that cannot run
        // (a reader still holding a snapshot) is reported, not an exit failure.
        do { try catalog.metadata.close() } catch { logger.warning("closing the metadata store: \(error)") }
        LogOutput.standardError.flush()
        print("Tarn stopped")
        fflush(nil)
    }
}
