import ArgumentParser
import Foundation
import TarnClient

struct Config: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the client configuration file (~/.tarn.yaml, lakectl's layout).",
        discussion: "Values not given as flags are asked for on a terminal.")
    @Option(name: [.short, .long], help: "File to write (default ~/.tarn.yaml).") var config: String?
    @Option(name: .customLong("endpoint"), help: "Server URL, e.g. http://127.0.0.1:8000") var endpoint: String?
    @Option(name: .customLong("access-key-id")) var accessKeyID: String?
    @Option(name: .customLong("secret-access-key")) var secretAccessKey: String?

    func run() throws {
        func ask(_ prompt: String, _ given: String?) throws -> String {
            if let given { return given }
            guard isatty(0) != 0 else { throw ValidationError("--\(prompt.lowercased().replacingOccurrences(of: " ", with: "-")) is needed when stdin is not a terminal") }
            print("\(prompt): ", terminator: "")
            return readLine() ?? ""
        }
        let c = ClientConfiguration(endpoint: try ask("Endpoint", endpoint), accessKeyID: try ask("Access key ID", accessKeyID),
                                    secretAccessKey: try ask("Secret access key", secretAccessKey))
        let path = config ?? (ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()) + "/.tarn.yaml"
        do {
            try c.yaml.write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, 0o600)
        } catch {
            FileHandle.standardError.write(Data("tarn: cannot write \(path): \(error.localizedDescription)\n".utf8))
            throw ExitCode(1)
        }
        print("Configuration written to \(path)")
    }
}

struct Doctor: ClientCommand {
    static let configuration = CommandConfiguration(abstract: "Check the endpoint and the credentials, and say in plain words what is wrong.")
    @OptionGroup var options: ClientOptions

    func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
        let endpoint = client.configuration.endpoint
        do {
            _ = try await client.call(.GET, "/healthcheck")
        } catch {
            switch error {
            case .transport: throw .transport("nothing answers at \(endpoint): is the server running, and is the URL right?")
            case let .server(status, _, _) where status == 404:
                throw .transport("\(endpoint) answers, but not as a lakeFS API: check the endpoint URL (without /api/v1 is fine)")
            default: throw error
            }
        }
        let user: JSON
        do {
            user = try await client.call(.GET, "/user")
        } catch {
            if case let .server(status, _, _) = error, status == 401 || status == 403 {
                throw .server(status: 401, message: "the server rejects access key \(client.configuration.accessKeyID): the key ID or the secret is wrong", body: nil)
            }
            throw error
        }
        let version = try await client.call(.GET, "/config/version")
        let doc = JSON.object(["endpoint": .string(endpoint), "version": version["version"], "user": user["user"]["id"],
                               "configuration": .string(client.configuration.source ?? "flags and environment")])
        out.document(doc) {
            ["Endpoint \(endpoint) answers (version \(version["version"].text)).",
             "Credentials are valid: signed in as \(user["user"]["id"].text).",
             "Configuration from \(client.configuration.source ?? "flags and environment")."]
        }
    }
}
