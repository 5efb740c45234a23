/// What a stored object's bytes became: where they are and what they hash to.
public struct StoredObject: Sendable, Hashable {
    /// Address inside the storage namespace; written once, never reused, never overwritten.
    public var physicalAddress: String
    public var size: Int64
    /// MD5 of the bytes, lowercase hex: the S3 ETag of a single-part upload.
    public var md5: String
}

/// Failures of a block store, mapped to wire errors by the REST and S3 layers.
public enum BlockStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A namespace or address that is malformed or would leave the store's root.
    case invalidPath(String)
    /// A namespace of a scheme this store does not serve.
    case unsupportedNamespace(String)
    case notFound(String)
    /// A byte range that starts past the end of the object (HTTP 416).
    case invalidRange(size: Int64)
    /// The body ended early or its source failed; nothing was stored.
    case incompleteBody(String)
    case io(String)
    /// The backing service cannot be reached or keeps answering 500/503 (HTTP 503).
    case unavailable(String)
    /// The backing service answered something unexpected (HTTP 502), its code in the message.
    case backend(String)
    /// A storage namespace that cannot hold a repository: missing or unwritable bucket, or a
    /// namespace another repository uses (HTTP 400).
    case namespaceRefused(String)

    public var description: String {
        switch self {
        case let .invalidPath(p): return "invalid path: \(p)"
        case let .unsupportedNamespace(ns): return "unsupported storage namespace: \(ns)"
        case let .notFound(p): return "no such object: \(p)"
        case let .invalidRange(size): return "range not satisfiable (size \(size))"
        case let .incompleteBody(why): return "upload incomplete: \(why)"
        case let .io(why): return "storage I/O error: \(why)"
        case let .unavailable(why): return "storage backend unavailable: \(why)"
        case let .backend(why): return "storage backend error: \(why)"
        case let .namespaceRefused(why): return "storage namespace refused: \(why)"
        }
    }
}

/// An error a request body throws on purpose (a checksum that does not match, say): stores
/// rethrow it as it is, so the wire layer can answer with its own code, instead of wrapping it
/// as an incomplete body. Nothing is stored either way.
public protocol BodyRejection: Error {}

/// A backing store for object bytes. Bodies stream in and out as chunks; no implementation
/// holds a whole object in memory. Every implementation runs the shared suite in
/// `Tests/TarnBlockTests/BlockStoreSuite.swift`.
public protocol BlockStore: Sendable {
    /// Throws unless `namespace` is well-formed for this store (a wrong scheme, a path escaping
    /// the root). No I/O.
    func validate(namespace: String) throws

    /// Checks, when a repository is created, that `namespace` can hold its objects (it exists
    /// and takes a write) and is not another repository's; throws `namespaceRefused` if not.
    func claim(namespace: String, repository: String) async throws

    /// Streams `body` to a fresh address in `namespace`, computing the MD5 as bytes flow. The
    /// object becomes visible only once the whole body is written; a failed or cut body
    /// leaves nothing behind. `size`, when the caller knows it, lets a remote store stream
    /// the body instead of spooling it; a body of another length is refused.
    func put<Body: AsyncSequence>(namespace: String, body: Body, size: Int64?) async throws -> StoredObject
        where Body.Element: Collection, Body.Element.Element == UInt8

    /// A fresh object made of the given objects' bytes in order (an S3 multipart upload's
    /// parts). The parts stay; its `md5` is empty (a multipart ETag is made of the parts').
    func compose(namespace: String, parts: [String]) async throws -> StoredObject

    /// The object's bytes, or those of `range` (inclusive, clamped to the size), in chunks read
    /// on demand. `knownSize` (from the entry) spares a remote store a HEAD.
    func get(namespace: String, address: String, range: ClosedRange<Int64>?, knownSize: Int64?) async throws -> ObjectReader

    /// Size of the object.
    func size(namespace: String, address: String) async throws -> Int64

    func delete(namespace: String, address: String) async throws
}

extension BlockStore {
    public func put<Body: AsyncSequence>(namespace: String, body: Body) async throws -> StoredObject
        where Body.Element: Collection, Body.Element.Element == UInt8 {
        try await put(namespace: namespace, body: body, size: nil)
    }

    public func get(namespace: String, address: String, range: ClosedRange<Int64>?) async throws -> ObjectReader {
        try await get(namespace: namespace, address: address, range: range, knownSize: nil)
    }
}
