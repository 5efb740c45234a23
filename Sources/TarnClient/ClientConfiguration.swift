import Foundation
import Yams

/// Where the CLI finds its server and keys: flags, then `TARN_*` environment variables, then
/// lakectl's `LAKECTL_*` ones, then `~/.tarn.yaml`, then `~/.lakectl.yaml` (the same YAML
/// keys: `server.endpoint_url`, `credentials.access_key_id`, `credentials.secret_access_key`),
/// so a machine set up for lakectl works unchanged.
public struct ClientConfiguration: Sendable, Equatable {
    public var endpoint: String
    public var accessKeyID: String
    public var secretAccessKey: String
    /// The file the values came from, if any (for `tarn doctor`).
    public var source: String?

    public init(endpoint: String, accessKeyID: String, secretAccessKey: String, source: String? = nil) {
        (self.endpoint, self.accessKeyID, self.secretAccessKey, self.source) = (endpoint, accessKeyID, secretAccessKey, source)
    }

    static let keys = [("server.endpoint_url", "SERVER_ENDPOINT_URL"), ("credentials.access_key_id", "CREDENTIALS_ACCESS_KEY_ID"),
                       ("credentials.secret_access_key", "CREDENTIALS_SECRET_ACCESS_KEY")]

    /// Resolves the configuration. `file` is `--config`; `flags` holds values given as flags
    /// under the YAML key names.
    public static func resolve(file: String?, flags: [String: String] = [:],
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws(ClientError) -> ClientConfiguration {
        var values: [String: String] = [:]
        var source: String?
        let home = environment["HOME"] ?? NSHomeDirectory()
        let files = file.map { [$0] } ?? [home + "/.tarn.yaml", home + "/.lakectl.yaml"]
        if let path = files.first(where: { FileManager.default.fileExists(atPath: $0) }) {
            values = try read(path)
            source = path
        } else if let file {
            throw .usage("configuration file \(file) does not exist")
        }
        for (key, env) in keys {
            if let v = environment["LAKECTL_" + env], !v.isEmpty { values[key] = v }
        }
        for (key, env) in keys {
            if let v = environment["TARN_" + env], !v.isEmpty { values[key] = v }
        }
        for (key, v) in flags { values[key] = v }
        guard let endpoint = values["server.endpoint_url"] else {
            throw .usage("no server endpoint: run `tarn config`, or set TARN_SERVER_ENDPOINT_URL")
        }
        guard let key = values["credentials.access_key_id"], let secret = values["credentials.secret_access_key"] else {
            throw .usage("no credentials: run `tarn config`, or set TARN_CREDENTIALS_ACCESS_KEY_ID and TARN_CREDENTIALS_SECRET_ACCESS_KEY")
        }
        return ClientConfiguration(endpoint: normalized(endpoint), accessKeyID: key, secretAccessKey: secret, source: source)
    }

    /// `http://host:8000`, `…/`, `…/api/v1` all mean the API root `http://host:8000/api/v1`.
    static func normalized(_ endpoint: String) -> String {
        var e = endpoint
        while e.hasSuffix("/") { e.removeLast() }
        return e.hasSuffix("/api/v1") ? e : e + "/api/v1"
    }

    static func read(_ path: String) throws(ClientError) -> [String: String] {
        let text: String
        let yaml: Any?
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
            yaml = try Yams.load(yaml: text)
        } catch {
            throw .usage("cannot read \(path): \(error)")
        }
        var out: [String: String] = [:]
        func walk(_ node: Any?, _ prefix: String) {
            if let map = node as? [AnyHashable: Any] {
                for (k, v) in map { walk(v, prefix.isEmpty ? "\(k)" : prefix + "." + "\(k)") }
            } else if let node, !(node is NSNull) {
                out[prefix] = "\(node)"
            }
        }
        walk(yaml, "")
        return out
    }

    /// The YAML `tarn config` writes (lakectl's layout).
    public var yaml: String {
        """
        credentials:
          access_key_id: \(accessKeyID)
          secret_access_key: \(secretAccessKey)
        server:
          endpoint_url: \(endpoint.hasSuffix("/api/v1") ? String(endpoint.dropLast("/api/v1".count)) : endpoint)

        """
    }
}
