import TarnCore

/// `lakefs://REPO/REF[/PATH]`, the form inputs and Tarn outputs are named in.
public struct LineageURI: Sendable, Hashable {
    public var repository: String
    public var ref: String
    public var path: String

    public init(repository: String, ref: String, path: String) {
        self.repository = repository
        self.ref = ref
        self.path = path
    }

    /// Nil when `text` is not a `lakefs://` URI with a repository and a ref.
    public init?(_ text: String) {
        guard text.hasPrefix("lakefs://") else { return nil }
        let rest = text.dropFirst("lakefs://".count)
        let parts = rest.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        repository = String(parts[0])
        ref = String(parts[1])
        path = parts.count == 3 ? String(parts[2]) : ""
    }

    public var description: String { "lakefs://\(repository)/\(ref)/\(path)" }
}

/// Why a lineage request was refused (the REST layer maps these to statuses in one place).
public enum LineageError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidArgument(String)
    case runNotFound(String)
    /// Finishing a run that already finished.
    case notRunning(id: String, status: String)

    public var description: String {
        switch self {
        case let .invalidArgument(m): return "invalid argument: \(m)"
        case let .runNotFound(id): return "run not found: \(id)"
        case let .notRunning(id, status): return "run \(id) is already \(status)"
        }
    }
}

extension PinnedInput {
    /// `lakefs://REPO/COMMIT/PATH`: the input as it will always read.
    public var lakeFSURI: String { "lakefs://\(repository)/\(commitID)/\(path)" }
    /// `s3://REPO/COMMIT/PATH` on Tarn's S3 endpoint.
    public var s3URI: String { "s3://\(repository)/\(commitID)/\(path)" }
}
