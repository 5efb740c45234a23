/// The block stores of one server, chosen per namespace scheme: `local://` always, `s3://`
/// when an S3 backend is configured. An absolute address (`s3://bucket/key`, an imported
/// object) goes to the store of its own scheme whatever the repository's namespace.
///
/// Calls go to the concrete stores (not through `any BlockStore`) so the local store's
/// generic upload loop stays specialised.
public final class BlockStores: Sendable {
    public let local: LocalBlockStore
    public let s3: S3BlockStore?

    public init(local: LocalBlockStore, s3: S3BlockStore? = nil) {
        self.local = local
        self.s3 = s3
    }

    private static func isS3(_ s: String) -> Bool { s.hasPrefix("s3://") }

    private func s3Store(_ what: String) throws -> S3BlockStore {
        guard let s3 else {
            throw BlockStoreError.unsupportedNamespace("\(what): this server has no S3 backend (set blockstore.s3.endpoint or AWS_ENDPOINT_URL)")
        }
        return s3
    }

    public func validate(namespace: String) throws {
        if Self.isS3(namespace) { try s3Store(namespace).validate(namespace: namespace) } else { try local.validate(namespace: namespace) }
    }

    public func claim(namespace: String, repository: String) async throws {
        if Self.isS3(namespace) {
            try await s3Store(namespace).claim(namespace: namespace, repository: repository)
        } else {
            try local.claim(namespace: namespace, repository: repository)
        }
    }

    public func put<Body: AsyncSequence>(namespace: String, body: Body, size: Int64?) async throws -> StoredObject
        where Body.Element: Collection, Body.Element.Element == UInt8 {
        if Self.isS3(namespace) { return try await s3Store(namespace).put(namespace: namespace, body: body, size: size) }
        return try await local.put(namespace: namespace, body: body, size: size)
    }

    /// Whether a body of `length` bytes, received whole, can be stored in `namespace` without
    /// suspending (`putNow`): a small object of a local namespace whose store packs them.
    public func storesNow(namespace: String, length: Int) -> Bool {
        !Self.isS3(namespace) && local.storesNow(length: length)
    }

    /// See `LocalBlockStore.putNow`; only where `storesNow` says so.
    public func putNow(namespace: String, bytes: UnsafeRawBufferPointer,
                       durable: @escaping @Sendable (Result<StoredObject, BlockStoreError>) -> Void) throws {
        try local.putNow(namespace: namespace, bytes: bytes, durable: durable)
    }

    public func compose(namespace: String, parts: [String]) async throws -> StoredObject {
        if Self.isS3(namespace) { return try await s3Store(namespace).compose(namespace: namespace, parts: parts) }
        return try await local.compose(namespace: namespace, parts: parts)
    }

    public func get(namespace: String, address: String, range: ClosedRange<Int64>?, knownSize: Int64?) async throws -> ObjectReader {
        if let reader = try getLocal(namespace: namespace, address: address, range: range, knownSize: knownSize) { return reader }
        return try await s3Store(address).get(namespace: namespace, address: address, range: range, knownSize: knownSize)
    }

    /// A reader over local bytes, opened on the calling thread; nil when they live in S3.
    public func getLocal(namespace: String, address: String, range: ClosedRange<Int64>?, knownSize: Int64?) throws -> ObjectReader? {
        if Self.isS3(address) || Self.isS3(namespace) { return nil }
        return try local.get(namespace: namespace, address: address, range: range, knownSize: knownSize)
    }

    /// A read of at most `limit` bytes in S3, ready to send from an event loop
    /// (`S3BlockStore.prepareRead`); nil when the bytes are local or the read is longer.
    public func prepareRemoteRead(namespace: String, address: String, range: ClosedRange<Int64>?, size: Int64, limit: Int64) -> RemoteRead? {
        guard Self.isS3(address) || Self.isS3(namespace), let s3 else { return nil }
        return s3.prepareRead(namespace: namespace, address: address, range: range, size: size, limit: limit)
    }

    /// A long read in S3 to relay between connections (`S3BlockStore.prepareRelay`); nil when
    /// the bytes are local, the endpoint is not plain HTTP or the read is shorter.
    public func prepareRemoteRelay(namespace: String, address: String, range: ClosedRange<Int64>?, size: Int64) -> RemoteRelay? {
        guard Self.isS3(address) || Self.isS3(namespace), let s3 else { return nil }
        return s3.prepareRelay(namespace: namespace, address: address, range: range, size: size)
    }

    public func size(namespace: String, address: String) async throws -> Int64 {
        if Self.isS3(address) || Self.isS3(namespace) { return try await s3Store(address).size(namespace: namespace, address: address) }
        return try local.size(namespace: namespace, address: address)
    }

    /// Deletes bytes Tarn wrote; an absolute address (an imported object) is left alone.
    public func delete(namespace: String, address: String) async throws {
        if address.contains("://") { return }
        if Self.isS3(namespace) { return try await s3Store(namespace).delete(namespace: namespace, address: address) }
        try local.delete(namespace: namespace, address: address)
    }

    /// One page of the objects under an `s3://bucket/prefix` (for import).
    public func list(_ uri: String, continuation: String?) async throws -> ListedPage {
        guard Self.isS3(uri) else { throw BlockStoreError.unsupportedNamespace("import reads s3:// locations only: \(uri)") }
        return try await s3Store(uri).list(uri, continuation: continuation)
    }
}
