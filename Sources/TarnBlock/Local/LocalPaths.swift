/// Turns `local://` namespaces and physical addresses into relative paths under the store's
/// root, refusing anything that could leave it: `..` and `.` segments, absolute paths, empty
/// segments, NUL and other control bytes, backslashes.
enum LocalPaths {
    static let scheme = "local://"

    /// `local://bucket/prefix` → `bucket/prefix`.
    static func namespaceDirectory(_ namespace: String) throws(BlockStoreError) -> String {
        guard namespace.hasPrefix(scheme) else { throw .unsupportedNamespace(namespace) }
        var rest = String(namespace.dropFirst(scheme.count))
        while rest.hasSuffix("/") { rest.removeLast() }
        try checkRelative(rest, original: namespace)
        return rest
    }

    /// Checks a relative path made of plain segments.
    static func checkRelative(_ path: String, original: String) throws(BlockStoreError) {
        guard !path.isEmpty, !path.hasPrefix("/") else { throw .invalidPath(original) }
        for segment in path.split(separator: "/", omittingEmptySubsequences: false) {
            guard !segment.isEmpty, segment != ".", segment != "..",
                  segment.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x7F && $0 != UInt8(ascii: "\\") })
            else { throw .invalidPath(original) }
        }
    }
}
