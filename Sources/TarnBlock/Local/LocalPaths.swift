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
        // On the UTF-8 bytes, one pass: this runs on every read.
        var segment = 0 // bytes in the current segment so far
        var dots = 0 // of which dots, while it has nothing else
        for b in path.utf8 {
            if b == UInt8(ascii: "/") {
                guard segment > 0, !(segment == dots && dots <= 2) else { throw .invalidPath(original) }
                segment = 0
                dots = 0
                continue
            }
            guard b >= 0x20, b != 0x7F, b != UInt8(ascii: "\\") else { throw .invalidPath(original) }
            if b == UInt8(ascii: "."), segment == dots { dots += 1 }
            segment += 1
        }
        // Also refuses "" and a leading "/" (an empty first segment).
        guard segment > 0, !(segment == dots && dots <= 2) else { throw .invalidPath(original) }
    }
}
