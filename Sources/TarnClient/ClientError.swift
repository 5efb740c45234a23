/// Why a CLI command failed, with the process exit code scripts branch on (documented in
/// `docs/cli.md`): 1 error, 2 usage, 3 merge conflict, 4 precondition or hook failure,
/// 5 not found.
public enum ClientError: Error, Sendable, CustomStringConvertible {
    /// Bad arguments or configuration the user can fix on the command line.
    case usage(String)
    /// The server answered with an error status; `body` is its JSON, when it sent some.
    case server(status: Int, message: String, body: JSON?)
    /// No answer: the endpoint is unreachable, refused the connection or timed out.
    case transport(String)
    /// A local file could not be read or written.
    case local(String)
    /// A long operation the server ran on its own (an import) ended in failure.
    case failed(String)

    public var exitCode: Int32 {
        switch self {
        case .usage: return 2
        case let .server(status, _, _):
            switch status {
            case 404: return 5
            case 409: return 3
            case 412: return 4
            default: return 1
            }
        case .transport, .local, .failed: return 1
        }
    }

    public var description: String {
        switch self {
        case let .usage(m), let .transport(m), let .local(m), let .failed(m): return m
        case let .server(status, message, _):
            switch status {
            case 401 where message.contains("key ID or the secret"): return message
            case 401: return "authentication failed (\(message)): check the access key ID and secret"
            case 403: return "not allowed: \(message)"
            default: return message.isEmpty ? "server answered \(status)" : message
            }
        }
    }

    /// The error as one JSON object, for `--output json`.
    public var json: JSON {
        var o: [String: JSON] = ["error": .string(description), "code": .number(Double(exitCode))]
        if case let .server(status, _, body) = self {
            o["status"] = .number(Double(status))
            if let body { o["details"] = body }
        }
        return .object(o)
    }
}
