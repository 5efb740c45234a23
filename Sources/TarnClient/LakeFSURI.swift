/// `lakefs://repo[/ref[/path]]` (also `tarn://`): what every CLI command takes, in lakectl's
/// spelling, so lakectl scripts port by renaming the command.
public struct LakeFSURI: Equatable, Sendable, CustomStringConvertible {
    public var repository: String
    public var ref: String?
    public var path: String?

    public init(repository: String, ref: String? = nil, path: String? = nil) {
        (self.repository, self.ref, self.path) = (repository, ref, path)
    }

    public init(parsing text: String) throws(ClientError) {
        var rest: Substring
        if text.hasPrefix("lakefs://") { rest = text.dropFirst("lakefs://".count) }
        else if text.hasPrefix("tarn://") { rest = text.dropFirst("tarn://".count) }
        else { throw .usage("not a lakefs:// or tarn:// URI: \(text)") }
        let parts = rest.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        guard let repo = parts.first, !repo.isEmpty else { throw .usage("no repository in \(text)") }
        repository = String(repo)
        ref = parts.count > 1 && !parts[1].isEmpty ? String(parts[1]) : nil
        path = parts.count > 2 ? String(parts[2]) : nil
        if ref == nil && path != nil { throw .usage("no ref in \(text)") }
    }

    public var description: String {
        var s = "lakefs://\(repository)"
        if let ref { s += "/\(ref)" }
        if let path { s += "/\(path)" }
        return s
    }

    /// The ref, or a usage error naming what the command needs.
    public func requireRef(_ what: String = "a ref") throws(ClientError) -> String {
        guard let ref else { throw .usage("\(self) names no \(what): expected lakefs://\(repository)/<\(what)>") }
        return ref
    }
}
