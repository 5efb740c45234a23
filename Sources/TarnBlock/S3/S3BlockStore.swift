import Crypto
import Foundation
import NIOCore
import Synchronization
import TarnCore
#if canImport(Glibc)
import Glibc
#endif

/// Serves `s3://bucket/prefix` namespaces from an S3 service. Like the local store, every put
/// goes to a fresh key (`<prefix>/data/<xx>/<uuid>`), so bytes are never overwritten and
/// branches share them. Bodies stream through bounded channels in both directions: a PUT
/// whose size is known goes straight to the backend (as a multipart upload of
/// `partSize` parts when larger than one part), a body of unknown size is spooled to a
/// temporary file one part at a time; nothing is ever held whole in memory.
///
/// Addresses may also be absolute (`s3://bucket/key`): objects imported where they already
/// were. Those are read like any other and never deleted.
public final class S3BlockStore: BlockStore {
    let client: S3Client
    /// Bodies up to this size are read into memory and sent in one request that can be
    /// retried; larger ones are streamed.
    static let smallBody = 1 << 20
    /// Where bodies of unknown size are spooled, one part at a time.
    private let spoolDirectory: String
    private let locations = Mutex<[String: S3Location]>([:])
    /// The key under a namespace that says which repository uses it.
    static let markerAddress = "_tarn/repository"

    public init(settings: S3Settings, spoolDirectory: String = NSTemporaryDirectory()) throws {
        client = try S3Client(settings: settings)
        self.spoolDirectory = spoolDirectory
    }

    public var settings: S3Settings { client.settings }

    /// Bucket and key of an address in a namespace (or of an absolute address).
    func locate(_ namespace: String, _ address: String) throws -> (bucket: String, key: String) {
        if address.hasPrefix("s3://") {
            let loc = try S3Location(address)
            guard !loc.prefix.isEmpty else { throw BlockStoreError.invalidPath(address) }
            return (loc.bucket, loc.prefix)
        }
        guard !address.isEmpty, !address.hasPrefix("/"), !address.split(separator: "/").contains("..") else {
            throw BlockStoreError.invalidPath(address)
        }
        let loc = try location(namespace)
        return (loc.bucket, loc.key(address))
    }

    /// A namespace's bucket and prefix, parsed once: the bucket-name rules check Unicode
    /// properties character by character, which every small GET repeated.
    private func location(_ namespace: String) throws -> S3Location {
        if let known = locations.withLock({ $0[namespace] }) { return known }
        let loc = try S3Location(namespace)
        locations.withLock { known in
            if known.count >= 1_024 { known.removeAll() }
            known[namespace] = loc
        }
        return loc
    }

    public func validate(namespace: String) throws {
        _ = try location(namespace)
    }

    /// The bucket must exist and take a write; a namespace whose marker names another
    /// repository is refused (two repositories writing one prefix would confuse anyone
    /// reading it, and any future garbage collection).
    public func claim(namespace: String, repository: String) async throws {
        let loc = try location(namespace)
        do {
            _ = try await client.send(.init(method: "HEAD", bucket: loc.bucket))
        } catch let e as BlockStoreError {
            switch e {
            case .notFound: throw BlockStoreError.namespaceRefused("bucket \(loc.bucket) does not exist at \(settings.base.url)")
            case .backend(let why): throw BlockStoreError.namespaceRefused("bucket \(loc.bucket) is not accessible: \(why)")
            default: throw e
            }
        }
        let marker = loc.key(Self.markerAddress)
        do {
            let existing = try await client.send(.init(method: "GET", bucket: loc.bucket, key: marker))
            let owner = String(decoding: existing.body, as: UTF8.self)
            if owner != repository {
                throw BlockStoreError.namespaceRefused("\(namespace) is already the storage namespace of repository \(owner)")
            }
            return
        } catch BlockStoreError.notFound {}
        do {
            _ = try await client.send(.init(method: "PUT", bucket: loc.bucket, key: marker, body: .bytes(Array(repository.utf8))))
        } catch let e as BlockStoreError {
            if case .unavailable = e { throw e }
            throw BlockStoreError.namespaceRefused("\(namespace) is not writable: \(e)")
        }
    }

    // MARK: put

    public func put<Body: AsyncSequence>(namespace: String, body: Body, size: Int64?) async throws -> StoredObject
        where Body.Element: Collection, Body.Element.Element == UInt8 {
        do {
            return try await store(namespace: namespace, body: body, size: size)
        } catch let e as BlockStoreError {
            throw e
        } catch let e as BodyRejection {
            throw e
        } catch {
            throw BlockStoreError.incompleteBody("\(error)")
        }
    }

    private func store<Body: AsyncSequence>(namespace: String, body: Body, size: Int64?) async throws -> StoredObject
        where Body.Element: Collection, Body.Element.Element == UInt8 {
        let loc = try location(namespace)
        let id = UUID().uuidString.lowercased()
        let address = "data/\(id.prefix(2))/\(id)"
        let key = loc.key(address)
        var source = BodySource(body.makeAsyncIterator())
        let partSize = Int(client.settings.partSize)

        // Small or of unknown size: read up to one small body into memory first.
        if size == nil || size! <= Int64(Self.smallBody) {
            let head = try await source.read(upTo: Self.smallBody + 1)
            if head.readableBytes <= Self.smallBody {
                if let size, size != Int64(head.readableBytes) { throw BlockStoreError.incompleteBody("expected \(size) bytes, got \(head.readableBytes)") }
                _ = try await client.send(.init(method: "PUT", bucket: loc.bucket, key: key, body: .bytes(Array(head.readableBytesView))))
                return StoredObject(physicalAddress: address, size: Int64(head.readableBytes), md5: source.md5Hex)
            }
            source.pushBack(head)
        }
        if let size, size <= Int64(partSize) {
            _ = try await streamed(.init(method: "PUT", bucket: loc.bucket, key: key, idempotent: false), length: size, endsBody: true, from: &source)
        } else {
            try await multipart(bucket: loc.bucket, key: key, size: size, partSize: partSize, from: &source)
        }
        if let size, size != source.count { throw BlockStoreError.incompleteBody("expected \(size) bytes, got \(source.count)") }
        return StoredObject(physicalAddress: address, size: source.count, md5: source.md5Hex)
    }

    /// Sends `r` with the next `length` bytes of `source` as its body, pumped through a
    /// channel while curl sends them. When those bytes `endsBody`, the body's end is awaited
    /// before its last chunk is handed over: a body that verifies itself (a checksum trailer)
    /// fails before the backend has the whole object.
    private func streamed<I: AsyncIteratorProtocol>(_ r: S3Client.Request, length: Int64, endsBody: Bool,
                                                    from source: inout BodySource<I>) async throws -> HTTPReply
        where I.Element: Collection, I.Element.Element == UInt8 {
        try await pumped(r, length: length, endsBody: endsBody, from: &source).value
    }

    /// Starts sending `r` and pumps its body as `streamed` does, but returns once the last
    /// byte is handed to curl: the backend's answer is still to come. A multipart upload
    /// starts its next part meanwhile, so the time a backend takes to finish a part (for
    /// SeaweedFS 120–230 ms per 64 MiB part, here) does not stall the client's upload.
    private func pumped<I: AsyncIteratorProtocol>(_ r: S3Client.Request, length: Int64, endsBody: Bool,
                                                  from source: inout BodySource<I>) async throws -> Task<HTTPReply, Error>
        where I.Element: Collection, I.Element.Element == UInt8 {
        let channel = ByteChannel()
        var request = r
        request.body = .stream(channel, length: length)
        let client = self.client
        // Whatever ends the transfer also ends the pump (a backend that stops reading must not
        // leave the writer waiting for room).
        let sending = Task {
            do {
                let reply = try await client.send(request)
                channel.fail(BlockStoreError.incompleteBody("the backend answered before the body ended"))
                return reply
            } catch {
                channel.fail(error)
                throw error
            }
        }
        do {
            var remaining = length
            while remaining > 0 {
                let chunk = try await source.readPiece(upTo: Int(min(remaining, 1 << 20)))
                guard chunk.readableBytes > 0 else { throw BlockStoreError.incompleteBody("body ended \(remaining) bytes early") }
                if endsBody && Int64(chunk.readableBytes) == remaining { try await source.expectEnd() }
                try await channel.write(chunk)
                remaining -= Int64(chunk.readableBytes)
            }
            channel.finish()
        } catch {
            channel.fail(error)
            let outcome = await sending.result
            if error is BodyRejection { throw error }
            // The backend's own failure explains a pump that stopped because it stopped reading.
            if case .failure(let backend as BlockStoreError) = outcome {
                if case .incompleteBody = backend {} else { throw backend }
            }
            if error is BlockStoreError { throw error }
            throw BlockStoreError.incompleteBody("\(error)")
        }
        return sending
    }

    /// A multipart upload on the backend: parts of `partSize`, streamed when the total size is
    /// known, spooled to a file each when it is not. Aborted on any failure.
    private func multipart<I: AsyncIteratorProtocol>(bucket: String, key: String, size: Int64?, partSize: Int,
                                                     from source: inout BodySource<I>) async throws
        where I.Element: Collection, I.Element.Element == UInt8 {
        let created = try await client.send(.init(method: "POST", bucket: bucket, key: key, query: [("uploads", "")]))
        guard let uploadID = S3Client.element("UploadId", in: created.body) else {
            throw BlockStoreError.backend("CreateMultipartUpload on s3://\(bucket)/\(key) answered without an UploadId")
        }
        func part(_ number: Int) -> S3Client.Request {
            .init(method: "PUT", bucket: bucket, key: key, query: [("partNumber", "\(number)"), ("uploadId", uploadID)])
        }
        var etags: [String] = []
        // At most one part's answer is awaited while the next part's body flows.
        var answering: Task<HTTPReply, Error>?
        do {
            if let size {
                var number = 0
                repeat {
                    number += 1
                    let remaining = size - source.count
                    let length = min(Int64(partSize), remaining)
                    var request = part(number)
                    request.idempotent = false  // its body is read once, from the client
                    let sending = try await pumped(request, length: length, endsBody: length == remaining, from: &source)
                    let previous = answering
                    answering = sending
                    if let previous { etags.append(try await previous.value.headers["etag"] ?? "") }
                } while source.count < size
                if let last = answering {
                    answering = nil
                    etags.append(try await last.value.headers["etag"] ?? "")
                }
            } else {
                while true {
                    let spool = try Spool(directory: spoolDirectory)
                    let written = try await spool.fill(from: &source, limit: partSize)
                    guard written > 0 || etags.isEmpty else { break }
                    var request = part(etags.count + 1)
                    request.body = .file(fd: spool.fd, offset: 0, length: written)
                    let reply = try await client.send(request)
                    withExtendedLifetime(spool) {}
                    etags.append(reply.headers["etag"] ?? "")
                    if written < partSize { break }
                }
            }
            try await complete(bucket: bucket, key: key, uploadID: uploadID, etags: etags)
        } catch {
            // A part still being answered ends before the abort, or the backend could keep it.
            _ = await answering?.result
            _ = try? await client.send(.init(method: "DELETE", bucket: bucket, key: key, query: [("uploadId", uploadID)]))
            throw error
        }
    }

    private func complete(bucket: String, key: String, uploadID: String, etags: [String]) async throws {
        var xml = "<CompleteMultipartUpload>"
        for (i, etag) in etags.enumerated() { xml += "<Part><PartNumber>\(i + 1)</PartNumber><ETag>\(etag)</ETag></Part>" }
        xml += "</CompleteMultipartUpload>"
        let reply = try await client.send(.init(method: "POST", bucket: bucket, key: key, query: [("uploadId", uploadID)],
                                                headers: ["content-type": "application/xml"], body: .bytes(Array(xml.utf8))))
        // S3 may answer 200 with an error document once the upload has been assembled.
        if let code = S3Client.errorCode(reply.body) {
            throw BlockStoreError.backend("CompleteMultipartUpload on s3://\(bucket)/\(key) failed: \(code)")
        }
    }

    /// Joins parts on the backend by UploadPartCopy, without the bytes passing through Tarn.
    public func compose(namespace: String, parts: [String]) async throws -> StoredObject {
        let loc = try location(namespace)
        let id = UUID().uuidString.lowercased()
        let address = "data/\(id.prefix(2))/\(id)"
        let key = loc.key(address)
        let created = try await client.send(.init(method: "POST", bucket: loc.bucket, key: key, query: [("uploads", "")]))
        guard let uploadID = S3Client.element("UploadId", in: created.body) else {
            throw BlockStoreError.backend("CreateMultipartUpload on s3://\(loc.bucket)/\(key) answered without an UploadId")
        }
        do {
            var etags: [String] = []
            for (i, part) in parts.enumerated() {
                let (bucket, partKey) = try locate(namespace, part)
                let reply = try await client.send(.init(method: "PUT", bucket: loc.bucket, key: key,
                                                        query: [("partNumber", "\(i + 1)"), ("uploadId", uploadID)],
                                                        headers: ["x-amz-copy-source": "/" + SigV4.uriEncode(bucket + "/" + partKey, keepSlash: true)]))
                guard let etag = S3Client.element("ETag", in: reply.body) else {
                    throw BlockStoreError.backend("UploadPartCopy of \(part) answered without an ETag")
                }
                etags.append(etag)  // unescaped: `&quot;…&quot;` is `"…"`
            }
            try await complete(bucket: loc.bucket, key: key, uploadID: uploadID, etags: etags)
        } catch {
            _ = try? await client.send(.init(method: "DELETE", bucket: loc.bucket, key: key, query: [("uploadId", uploadID)]))
            throw error
        }
        return StoredObject(physicalAddress: address, size: try await size(namespace: namespace, address: address), md5: "")
    }

    // MARK: read, size, delete

    /// Reads up to this size are made whole, not streamed.
    static let smallRead: Int64 = 256 << 10
    /// Reads from this size are received by Tarn itself (`CurlDownload`): each takes a
    /// connection of its own, a handshake that is small beside this many bytes.
    static let directRead: Int64 = 8 << 20

    public func get(namespace: String, address: String, range: ClosedRange<Int64>?, knownSize: Int64?) async throws -> ObjectReader {
        let objectSize: Int64
        if let knownSize { objectSize = knownSize } else { objectSize = try await size(namespace: namespace, address: address) }
        let read = try ranged(namespace, address, range, objectSize)
        let channel = ByteChannel(capacity: 8 << 20)
        if read.length == 0 {
            channel.finish()
        } else if read.length <= Self.smallRead {
            // A small body comes back whole: one hand-off to the curl thread and one back,
            // instead of a stream's handshakes, and a failed read can be retried.
            let reply = try await client.send(read.request)
            guard reply.body.count == read.length else {
                throw BlockStoreError.backend("GET s3://\(read.request.bucket)/\(read.request.key) answered \(reply.body.count) bytes, expected \(read.length)")
            }
            reply.body.withUnsafeBytes { channel.writeWhole($0) }
            channel.finish()
        } else if read.length >= Self.directRead, await client.download(read.request, length: read.length, into: channel) {
            // The body comes without curl's copy; a declined download goes the ordinary way.
        } else {
            try await open(read.request, into: channel)
        }
        return ObjectReader(channel: channel, start: read.start, length: read.length, objectSize: objectSize)
    }

    /// A read of at most `limit` bytes made ready on the calling thread, to be sent without
    /// a task (see `RemoteRead`); nil when the read is longer, empty or out of range.
    public func prepareRead(namespace: String, address: String, range: ClosedRange<Int64>?, size: Int64, limit: Int64) -> RemoteRead? {
        guard let read = try? ranged(namespace, address, range, size), read.length > 0, read.length <= limit else { return nil }
        return RemoteRead(client: client, request: read.request, length: Int(read.length))
    }

    /// A read to be relayed from the backend's connection to the client's (see `RemoteRelay`):
    /// nil unless the endpoint is plain HTTP and the read is at least `relayFloor` long.
    public func prepareRelay(namespace: String, address: String, range: ClosedRange<Int64>?, size: Int64) -> RemoteRelay? {
        guard client.kept != nil, let read = try? ranged(namespace, address, range, size), read.length >= Self.relayFloor else { return nil }
        return RemoteRelay(client: client, request: read.request, length: read.length)
    }

    /// The shortest read relayed: a relay takes a thread and a connection of its own, which
    /// pay for themselves on megabytes, not on kilobytes.
    public static let relayFloor: Int64 = 8 << 20

    /// The GET of `range` (all of it when nil) of an object of `objectSize` bytes: where it
    /// starts, how long it is and the backend request that reads it.
    private func ranged(_ namespace: String, _ address: String, _ range: ClosedRange<Int64>?, _ objectSize: Int64) throws
        -> (start: Int64, length: Int64, request: S3Client.Request) {
        let (bucket, key) = try locate(namespace, address)
        var start: Int64 = 0, length = objectSize
        if let range {
            guard range.lowerBound < objectSize else { throw BlockStoreError.invalidRange(size: objectSize) }
            start = range.lowerBound
            length = min(range.upperBound, objectSize - 1) - start + 1
        }
        var r = S3Client.Request(method: "GET", bucket: bucket, key: key)
        if length != objectSize { r.headers["range"] = "bytes=\(start)-\(start + length - 1)" }
        return (start, length, r)
    }

    /// Starts `r` and returns once the backend has answered 2xx (the body then flows into
    /// `channel`), or throws its error.
    private func open(_ r: S3Client.Request, into channel: ByteChannel) async throws {
        let client = self.client
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, Error>) in
            let answered = OnceFlag()
            Task {
                let outcome = await client.outcome(r, stream: channel) { status, _ in
                    if (200..<300).contains(status), answered.claim() { c.resume() }
                }
                switch outcome {
                case .success: channel.finish(); if answered.claim() { c.resume() }
                case let .failure(e): channel.fail(e); if answered.claim() { c.resume(throwing: e) }
                }
            }
        }
    }

    public func size(namespace: String, address: String) async throws -> Int64 {
        let (bucket, key) = try locate(namespace, address)
        do {
            let reply = try await client.send(.init(method: "HEAD", bucket: bucket, key: key))
            guard let n = reply.headers["content-length"].flatMap({ Int64($0) }) else {
                throw BlockStoreError.backend("HEAD s3://\(bucket)/\(key) answered without Content-Length")
            }
            return n
        } catch BlockStoreError.notFound { throw BlockStoreError.notFound(address) }
    }

    public func delete(namespace: String, address: String) async throws {
        // Imported objects belong to whoever put them there.
        guard !address.hasPrefix("s3://") else { return }
        let (bucket, key) = try locate(namespace, address)
        _ = try await size(namespace: namespace, address: address)
        _ = try await client.send(.init(method: "DELETE", bucket: bucket, key: key))
    }

    // MARK: listing (import)

    /// One page of the objects under `s3://bucket/prefix`, in key order, after `token`.
    public func list(_ uri: String, continuation token: String?, max: Int = 1000) async throws -> ListedPage {
        let loc = try S3Location(uri)
        var query: [(name: String, value: String)] = [("list-type", "2"), ("max-keys", "\(max)")]
        let rawPrefix = uri.dropFirst(5 + loc.bucket.count).drop { $0 == "/" }
        if !rawPrefix.isEmpty { query.append(("prefix", String(rawPrefix))) }
        if let token { query.append(("continuation-token", token)) }
        let reply = try await client.send(.init(method: "GET", bucket: loc.bucket, query: query))
        return ListedPage(xml: reply.body, bucket: loc.bucket)
    }
}

/// True exactly once, from whichever thread asks first.
final class OnceFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    func claim() -> Bool { lock.withLock { defer { done = true }; return !done } }
}

/// A request body read in pieces of a chosen size, with its MD5 and length kept as it goes.
/// Pieces are NIO buffers, which the upload channel queues as they are.
struct BodySource<I: AsyncIteratorProtocol> where I.Element: Collection, I.Element.Element == UInt8 {
    private var iterator: I
    private var pending = ByteBuffer()
    private var md5 = Insecure.MD5()
    private let allocator = ByteBufferAllocator()
    /// Bytes handed out so far.
    private(set) var count: Int64 = 0

    init(_ iterator: I) { self.iterator = iterator }

    var md5Hex: String { ContentHash.hex(md5.finalize()) }

    /// Up to `limit` bytes; fewer only at the end of the body.
    mutating func read(upTo limit: Int) async throws -> ByteBuffer {
        var out = pending.readableBytes > 0 ? pending : allocator.buffer(capacity: 0)
        pending = ByteBuffer()
        while out.readableBytes < limit {
            guard let chunk = try await iterator.next() else { break }
            // A chunk that fills the piece on its own is taken as it is; smaller ones are
            // copied into one buffer of the piece's size.
            if out.readableBytes == 0, let view = chunk as? ByteBufferView, view.count >= limit {
                out = ByteBuffer(view)
            } else {
                if out.writableBytes < chunk.count {
                    out.reserveCapacity(minimumWritableBytes: Swift.max(chunk.count, limit - out.readableBytes))
                }
                out.writeBytes(chunk)
            }
        }
        if out.readableBytes > limit {
            pending = out.getSlice(at: out.readerIndex + limit, length: out.readableBytes - limit)!
            out = out.readSlice(length: limit)!
        }
        return hashed(out)
    }

    /// The next piece of the body as it came, at most `limit` bytes and none only at the
    /// end: a NIO buffer from the connection is handed on as it is. A stream to the backend
    /// takes pieces of any size, and joining them first copied every byte of an upload once
    /// more (a third of the copying in a 1 GiB PUT).
    mutating func readPiece(upTo limit: Int) async throws -> ByteBuffer {
        var out = pending
        pending = ByteBuffer()
        while out.readableBytes == 0 {
            guard let chunk = try await iterator.next() else { return out }
            if let view = chunk as? ByteBufferView {
                out = ByteBuffer(view)
            } else {
                out = allocator.buffer(capacity: chunk.count)
                out.writeBytes(chunk)
            }
        }
        if out.readableBytes > limit {
            pending = out.getSlice(at: out.readerIndex + limit, length: out.readableBytes - limit)!
            out = out.readSlice(length: limit)!
        }
        return hashed(out)
    }

    private mutating func hashed(_ piece: ByteBuffer) -> ByteBuffer {
        piece.withUnsafeReadableBytes { md5.update(bufferPointer: $0) }
        count += Int64(piece.readableBytes)
        return piece
    }

    /// Reads on to the end of the body, which must come now: a body that verifies itself (a
    /// checksum trailer, a payload hash) does so only once its iterator has ended.
    mutating func expectEnd() async throws {
        guard pending.readableBytes == 0, try await iterator.next() == nil else {
            throw BlockStoreError.incompleteBody("the body is longer than declared")
        }
    }

    /// Gives back bytes just read (they will be read again, and hashed again, next).
    mutating func pushBack(_ bytes: ByteBuffer) {
        precondition(count == Int64(bytes.readableBytes), "only the first read can be pushed back")
        var joined = bytes
        joined.writeImmutableBuffer(pending)
        pending = joined
        count = 0
        md5 = Insecure.MD5()
    }
}

/// An unlinked temporary file holding one part of a body of unknown size.
final class Spool {
    let fd: Int32

    init(directory: String) throws {
        var template = Array((directory.hasSuffix("/") ? directory : directory + "/").utf8CString.dropLast()) + Array("tarn-spool-XXXXXX".utf8CString)
        fd = mkstemp(&template)
        guard fd >= 0 else { throw BlockStoreError.io("cannot create a spool file in \(directory): errno \(errno)") }
        unlink(String(cString: template))
    }

    deinit { close(fd) }

    /// Writes up to `limit` bytes of `source`; returns how many.
    func fill<I: AsyncIteratorProtocol>(from source: inout BodySource<I>, limit: Int) async throws -> Int64
        where I.Element: Collection, I.Element.Element == UInt8 {
        var written = 0
        while written < limit {
            let chunk = try await source.read(upTo: min(1 << 20, limit - written))
            if chunk.readableBytes == 0 { break }
            try chunk.withUnsafeReadableBytes { buf in
                var off = 0
                while off < buf.count {
                    let n = pwrite(fd, buf.baseAddress! + off, buf.count - off, off_t(written + off))
                    guard n > 0 else { throw BlockStoreError.io("spool write failed: errno \(errno)") }
                    off += n
                }
            }
            written += chunk.readableBytes
        }
        return Int64(written)
    }
}
