import Foundation
import TarnAuth
import TarnBlock
import Yams

/// How a Tarn server is set up, resolved from three layers: an optional YAML file, `TARN_*`
/// environment variables, and command-line flags — flags win over the environment, the
/// environment over the file. Nothing else reads the environment.
///
/// Every setting has one dotted key; the file nests it (`database: {url: ...}`), the
/// environment spells it `TARN_` + upper-cased with `_` for `.` (`TARN_DATABASE_URL`).
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var dataDirectory: URL
    /// The metadata database: a path to the SQLite file.
    public var databasePath: String
    /// Root directory of the `local://` storage namespaces.
    public var objectStoreRoot: URL
    public var logLevel: String
    /// Virtual-host style S3 addressing: `<bucket>.<s3Domain>` (path style always works).
    public var s3Domain: String?
    /// The region S3 clients sign for and the gateway reports.
    public var s3Region: String
    /// Where CreateBucket over S3 puts a new repository's namespace (`<root><bucket>`); nil
    /// when CreateBucket and DeleteBucket are off (the default).
    public var s3BucketNamespaceRoot: String?
    /// `TARN_ADMIN_ACCESS_KEY_ID` / `TARN_ADMIN_SECRET_ACCESS_KEY`: fixed quickstart admin keys.
    public var adminKey: AccessKey?
    /// The S3 service behind `s3://` namespaces; nil when nothing configures one.
    public var s3Backend: S3Settings?
    /// Absolute paths of the programs `exec` hooks may run; empty (the default) disables them.
    public var hooksExecAllow: [String] = []
    /// Where every lineage run start and finish is pushed as an OpenLineage event; nil: nowhere.
    public var openLineageURL: String?

    public init(host: String = "0.0.0.0", port: Int = 8000, dataDirectory: URL, databasePath: String? = nil,
                objectStoreRoot: URL? = nil, logLevel: String = "info", s3Domain: String? = "s3.localhost",
                s3Region: String = "us-east-1", adminKey: AccessKey? = nil) {
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.databasePath = databasePath ?? dataDirectory.appendingPathComponent("tarn.sqlite").path
        self.objectStoreRoot = objectStoreRoot ?? dataDirectory.appendingPathComponent("objects")
        self.logLevel = logLevel
        self.s3Domain = s3Domain
        self.s3Region = s3Region
        self.s3BucketNamespaceRoot = nil
        self.adminKey = adminKey
    }

    /// The settings, their meaning and defaults; the only keys a file or the environment may set.
    public static let keys: [(key: String, help: String)] = [
        ("listen_address", "HOST:PORT to listen on (default 0.0.0.0:8000)"),
        ("data_dir", "directory for the database, the server key and local objects (default ./tarn-data)"),
        ("database.url", "metadata database: sqlite://PATH or a plain path (default DATA_DIR/tarn.sqlite)"),
        ("blockstore.local.path", "root of local:// storage namespaces (default DATA_DIR/objects)"),
        ("logging.level", "trace, debug, info, notice, warning, error or critical (default info)"),
        ("s3.domain", "virtual-host style S3 addressing, <bucket>.<domain> (default s3.localhost; empty: path style only)"),
        ("s3.region", "the region S3 clients sign for (default us-east-1)"),
        ("s3.create_bucket", "1/true: CreateBucket and DeleteBucket over S3 make and delete repositories (default off)"),
        ("s3.bucket_namespace_root", "storage namespace root of repositories made over S3 (default local://s3-buckets/)"),
        ("blockstore.s3.endpoint", "S3 service for s3:// namespaces, http(s)://HOST[:PORT] (default AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS)"),
        ("blockstore.s3.region", "region requests to it are signed for (default AWS_REGION, else us-east-1)"),
        ("blockstore.s3.force_path_style", "1/true: bucket in the path, not the host name (always so for IP and localhost endpoints)"),
        ("blockstore.s3.credentials.access_key_id", "its access key (default AWS_ACCESS_KEY_ID, else ~/.aws/credentials)"),
        ("blockstore.s3.credentials.secret_access_key", "its secret key (default AWS_SECRET_ACCESS_KEY, else ~/.aws/credentials)"),
        ("blockstore.s3.upload_part_size", "part size of the multipart uploads large objects become, bytes, >= 5 MiB (default 64 MiB)"),
        ("blockstore.s3.max_retries", "retries after connection errors, 500, 503 and SlowDown (default 5)"),
        ("blockstore.s3.connect_timeout", "seconds to wait for a connection (default 10)"),
        ("hooks.exec_allow", "comma-separated absolute paths of the programs exec hooks may run (default none: exec hooks off)"),
        ("lineage.openlineage_url", "http(s) URL every lineage run start and finish is POSTed to as an OpenLineage event (default none)"),
        ("blockstore.s3.stall_timeout", "seconds a transfer may move no byte before it is abandoned (default 60)"),
    ]

    static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    public enum Problem: Error, CustomStringConvertible {
        case unreadableFile(String, String)
        case unknownKey(String, source: String)
        case invalidValue(key: String, value: String, expected: String)

        public var description: String {
            switch self {
            case let .unreadableFile(path, why): return "cannot read configuration file \(path): \(why)"
            case let .unknownKey(key, source): return "unknown setting \(key) in \(source)"
            case let .invalidValue(key, value, expected): return "\(key) = \(value): expected \(expected)"
            }
        }
    }

    /// Resolves the three layers. `flags` holds dotted keys of the flags that were given;
    /// `configFile` (from `--config` or `TARN_CONFIG`) may be nil.
    public static func resolve(flags: [String: String], environment: [String: String], configFile: String?) throws -> ServerConfiguration {
        var values: [String: String] = [:]
        if let path = configFile ?? environment["TARN_CONFIG"] {
            values = try fileValues(path)
        }
        let known = Set(keys.map(\.key))
        for key in known {
            if let v = environment["TARN_" + key.uppercased().replacingOccurrences(of: ".", with: "_")] { values[key] = v }
        }
        for (key, value) in flags {
            guard known.contains(key) else { throw Problem.unknownKey(key, source: "flags") }
            values[key] = value
        }

        let listen = values["listen_address"] ?? "0.0.0.0:8000"
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port) else {
            throw Problem.invalidValue(key: "listen_address", value: listen, expected: "HOST:PORT")
        }
        let level = values["logging.level"] ?? "info"
        guard logLevels.contains(level) else {
            throw Problem.invalidValue(key: "logging.level", value: level, expected: logLevels.joined(separator: ", "))
        }
        var database: String?
        if let url = values["database.url"] {
            if url.hasPrefix("sqlite://") {
                database = String(url.dropFirst("sqlite://".count))
            } else if url.contains("://") {
                throw Problem.invalidValue(key: "database.url", value: url, expected: "sqlite://PATH (PostgreSQL arrives with its own issue)")
            } else {
                database = url
            }
            guard database?.isEmpty == false else { throw Problem.invalidValue(key: "database.url", value: url, expected: "a path") }
        }
        var adminKey: AccessKey?
        if let id = environment["TARN_ADMIN_ACCESS_KEY_ID"], let secret = environment["TARN_ADMIN_SECRET_ACCESS_KEY"], !id.isEmpty, !secret.isEmpty {
            adminKey = AccessKey(accessKeyID: id, secretAccessKey: secret)
        }
        var bucketRoot: String?
        if let on = values["s3.create_bucket"], ["1", "true", "yes", "on"].contains(on.lowercased()) {
            bucketRoot = values["s3.bucket_namespace_root"] ?? "local://s3-buckets/"
            if !bucketRoot!.hasSuffix("/") { bucketRoot! += "/" }
        }
        var config = ServerConfiguration(
            host: String(listen[..<colon]), port: port,
            dataDirectory: URL(fileURLWithPath: values["data_dir"] ?? "./tarn-data"),
            databasePath: database, objectStoreRoot: values["blockstore.local.path"].map { URL(fileURLWithPath: $0) },
            logLevel: level, s3Domain: values["s3.domain"].map { $0.isEmpty ? nil : $0 } ?? "s3.localhost",
            s3Region: values["s3.region"] ?? "us-east-1", adminKey: adminKey)
        config.s3BucketNamespaceRoot = bucketRoot
        config.s3Backend = try s3Settings(values, environment: environment)
        if let url = values["lineage.openlineage_url"], !url.isEmpty {
            guard let u = URL(string: url), ["http", "https"].contains(u.scheme ?? ""), u.host != nil else {
                throw Problem.invalidValue(key: "lineage.openlineage_url", value: url, expected: "an http or https URL")
            }
            config.openLineageURL = url
        }
        if let allow = values["hooks.exec_allow"] {
            config.hooksExecAllow = allow.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            if let bad = config.hooksExecAllow.first(where: { !$0.hasPrefix("/") }) {
                throw Problem.invalidValue(key: "hooks.exec_allow", value: bad, expected: "absolute paths, comma-separated")
            }
        }
        return config
    }

    /// The S3 backend from `blockstore.s3.*`, falling back to the standard AWS variables and
    /// `~/.aws/credentials` (profile `AWS_PROFILE`, else `default`); nil when none of them
    /// names an endpoint or credentials.
    static func s3Settings(_ values: [String: String], environment env: [String: String]) throws -> S3Settings? {
        func nonEmpty(_ s: String?) -> String? { s.flatMap { $0.isEmpty ? nil : $0 } }
        let endpoint = nonEmpty(values["blockstore.s3.endpoint"]) ?? nonEmpty(env["AWS_ENDPOINT_URL_S3"]) ?? nonEmpty(env["AWS_ENDPOINT_URL"])
        var keyID = nonEmpty(values["blockstore.s3.credentials.access_key_id"])
        var secret = nonEmpty(values["blockstore.s3.credentials.secret_access_key"])
        if keyID == nil || secret == nil {
            keyID = nonEmpty(env["AWS_ACCESS_KEY_ID"])
            secret = nonEmpty(env["AWS_SECRET_ACCESS_KEY"])
        }
        if keyID == nil || secret == nil, let profile = awsProfile(env) {
            keyID = profile["aws_access_key_id"]
            secret = profile["aws_secret_access_key"]
        }
        guard endpoint != nil || keyID != nil else { return nil }
        var settings = S3Settings(endpoint: endpoint, region: nonEmpty(values["blockstore.s3.region"]) ?? nonEmpty(env["AWS_REGION"])
                                      ?? nonEmpty(env["AWS_DEFAULT_REGION"]) ?? "us-east-1",
                                  accessKeyID: keyID ?? "", secretAccessKey: secret ?? "")
        if let e = endpoint, !(e.hasPrefix("http://") || e.hasPrefix("https://")) {
            throw Problem.invalidValue(key: "blockstore.s3.endpoint", value: e, expected: "http://HOST[:PORT] or https://HOST[:PORT]")
        }
        if let v = values["blockstore.s3.force_path_style"] { settings.forcePathStyle = ["1", "true", "yes", "on"].contains(v.lowercased()) }
        func number(_ key: String, _ range: ClosedRange<Double>) throws -> Double? {
            guard let v = values[key] else { return nil }
            guard let n = Double(v), range.contains(n) else {
                throw Problem.invalidValue(key: key, value: v, expected: "a number in \(range.lowerBound)...\(range.upperBound)")
            }
            return n
        }
        if let n = try number("blockstore.s3.upload_part_size", 5_242_880...5_368_709_120) { settings.partSize = Int64(n) }
        if let n = try number("blockstore.s3.max_retries", 0...100) { settings.maxRetries = Int(n) }
        if let n = try number("blockstore.s3.connect_timeout", 0.1...3600) { settings.connectTimeout = n }
        if let n = try number("blockstore.s3.stall_timeout", 1...3600) { settings.stallTimeout = n }
        return settings
    }

    /// The keys of one profile of `~/.aws/credentials` (or `AWS_SHARED_CREDENTIALS_FILE`).
    static func awsProfile(_ env: [String: String]) -> [String: String]? {
        let path = env["AWS_SHARED_CREDENTIALS_FILE"] ?? (env["HOME"].map { $0 + "/.aws/credentials" } ?? "")
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let wanted = env["AWS_PROFILE"] ?? "default"
        var current: String?
        var keys: [String: String] = [:]
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("[") && line.hasSuffix("]") {
                current = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
            } else if current == wanted, let eq = line.firstIndex(of: "="), !line.hasPrefix("#") {
                keys[line[..<eq].trimmingCharacters(in: .whitespaces).lowercased()] = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return keys["aws_access_key_id"] == nil ? nil : keys
    }

    /// A YAML file's settings as dotted keys; any key we do not know is an error, so a typo
    /// does not silently fall back to a default.
    static func fileValues(_ path: String) throws -> [String: String] {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw Problem.unreadableFile(path, error.localizedDescription)
        }
        let root: Any?
        do { root = try Yams.load(yaml: text) } catch { throw Problem.unreadableFile(path, "\(error)") }
        guard let root else { return [:] }
        guard let map = root as? [String: Any] else { throw Problem.unreadableFile(path, "the top level is not a mapping") }
        var out: [String: String] = [:]
        func walk(_ node: [String: Any], _ prefix: String) throws {
            for (k, v) in node {
                let key = prefix.isEmpty ? k : prefix + "." + k
                if let nested = v as? [String: Any] {
                    try walk(nested, key)
                } else if keys.contains(where: { $0.key == key }) {
                    out[key] = "\(v)"
                } else {
                    throw Problem.unknownKey(key, source: path)
                }
            }
        }
        try walk(map, "")
        return out
    }
}
