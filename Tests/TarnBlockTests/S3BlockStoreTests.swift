import Foundation
import NIOCore
import NIOPosix
import Testing
@testable import TarnBlock

/// A real S3 service for `S3BlockStore` to keep bytes in, started by the tests.
protocol S3TestService: AnyObject, Sendable {
    func settings(partSize: Int64, maxRetries: Int) -> S3Settings
    /// A bucket and a key prefix nothing else uses ("main/…" where a bucket is a Tarn
    /// repository), ending in "/".
    func makeLocation() async throws -> (bucket: String, prefix: String)
}

extension S3TestService {
    func settings() -> S3Settings { settings(partSize: 5 << 20, maxRetries: 2) }
}

/// A `tarn serve` child process used as the S3 service behind `S3BlockStore`: a real S3
/// server (SigV4-checking, multipart, UploadPartCopy) that needs nothing but this build. Its
/// bucket is a repository, so a namespace is `s3://<repo>/main/<prefix>`. Stopped by PID.
final class BackendTarn: S3TestService, @unchecked Sendable {
    static let keyID = "AKIABACKENDTESTKEY01"
    static let secret = "backend-test-secret-key-0123456789abcdef"
    let process = Process()
    let directory: URL
    let url: String

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("tarn-backend-\(UUID().uuidString)")
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("tarn")
        process.executableURL = FileManager.default.isExecutableFile(atPath: binary.path)
            ? binary : URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../.build/debug/tarn").standardized
        process.arguments = ["serve", "--listen", "127.0.0.1:0", "--data-dir", directory.path, "--s3-create-bucket", "--log-level", "error"]
        var env = ProcessInfo.processInfo.environment
        env["TARN_ADMIN_ACCESS_KEY_ID"] = Self.keyID
        env["TARN_ADMIN_SECRET_ACCESS_KEY"] = Self.secret
        for k in env.keys where k.hasPrefix("AWS_") || k.hasPrefix("TARN_BLOCKSTORE") { env[k] = nil }
        process.environment = env
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        // The server prints its URL once it accepts connections: wait for that line.
        var seen = Data()
        var found: String?
        while found == nil {
            let data = out.fileHandleForReading.availableData
            if data.isEmpty { break }
            seen += data
            for line in String(decoding: seen, as: UTF8.self).split(separator: "\n") where line.hasPrefix("Tarn is listening on ") {
                found = String(line.split(separator: " ").last!)
            }
        }
        guard let found else { process.terminate(); throw BlockStoreError.io("backend tarn did not start") }
        url = found
    }

    func settings(partSize: Int64, maxRetries: Int) -> S3Settings {
        S3Settings(endpoint: url, accessKeyID: Self.keyID, secretAccessKey: Self.secret, partSize: partSize,
                   connectTimeout: 2, stallTimeout: 10, maxRetries: maxRetries)
    }

    /// A fresh bucket (repository) on the backend; keys go under its branch `main`.
    func makeLocation() async throws -> (bucket: String, prefix: String) {
        let name = "b" + UUID().uuidString.lowercased().prefix(12)
        _ = try await S3Client(settings: settings()).send(.init(method: "PUT", bucket: String(name)))
        return (String(name), "main/")
    }

    deinit {
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// The S3 services the store is tested against: a second Tarn, and SeaweedFS (`weed` from
/// the integration virtualenv that `make test` sets up first, or `$WEED`).
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case tarn, seaweedfs

    var testDescription: String { rawValue }

    func start() async throws -> any S3TestService {
        switch self {
        case .tarn: return try BackendTarn()
        case .seaweedfs: return try await BackendSeaweedFS.shared()
        }
    }
}

/// One test's store over a fresh bucket of `backend`.
struct S3Fixture {
    let service: any S3TestService
    let store: S3BlockStore
    let namespace: String
    let bucket: String
    /// Keys of this test start with this.
    let prefix: String

    init(_ backend: Backend) async throws {
        service = try await backend.start()
        store = try S3BlockStore(settings: service.settings())
        (bucket, prefix) = try await service.makeLocation()
        namespace = "s3://\(bucket)/\(prefix)lake"
    }

    var suite: BlockStoreSuite { BlockStoreSuite(store: store, namespace: namespace) }
}

@Suite(.serialized) struct S3BlockStoreTests {
    @Test(arguments: Backend.allCases)
    func sharedSuite(on backend: Backend) async throws {
        let f = try await S3Fixture(backend)
        try await f.suite.roundTripKeepsBytesAndMD5()
        try await f.suite.rangesAreClampedAndCheckedAgainstSize()
        try await f.suite.everyPutGetsAFreshAddress()
        try await f.suite.cutBodyLeavesNothing()
        try await f.suite.deletedObjectIsNotFound()
    }

    /// Bodies larger than a part become multipart uploads on the backend, streamed when the
    /// size is known and spooled part by part when it is not; the bytes and MD5 survive both.
    @Test(arguments: Backend.allCases, [true, false])
    func largeBodiesGoUpInParts(on backend: Backend, sizeKnown: Bool) async throws {
        let f = try await S3Fixture(backend)
        let body = Chunks(count: 12, chunkSize: 1 << 20)  // 12 MiB: three 5 MiB parts
        let stored = try await f.store.put(namespace: f.namespace, body: body, size: sizeKnown ? 12 << 20 : nil)
        #expect(stored.size == 12 << 20)
        #expect(stored.md5 == md5Hex(body.allBytes))
        let back = try await readAll(f.store.get(namespace: f.namespace, address: stored.physicalAddress, range: nil))
        #expect(back == body.allBytes)
        let middle = try await readAll(f.store.get(namespace: f.namespace, address: stored.physicalAddress, range: (5 << 20 - 3)...(5 << 20 + 3)))
        #expect(middle == Array(body.allBytes[(5 << 20 - 3)...(5 << 20 + 3)]))
    }

    /// A part's answer is awaited while the next part's body flows. When the backend refuses
    /// a part (here its upload is aborted underneath, once the first part's body is sent),
    /// the put fails, and no upload is left open on the backend.
    @Test(arguments: Backend.allCases)
    func aRefusedPartFailsThePutAndLeavesNoUpload(on backend: Backend) async throws {
        let f = try await S3Fixture(backend)
        let client = f.store.client, bucket = f.bucket
        let listUploads = { @Sendable in
            try await client.send(.init(method: "GET", bucket: bucket, query: [("uploads", "")])).body
        }
        let body = Chunks(count: 12, chunkSize: 1 << 20, before: 6) {  // parts of 5 MiB: the 7th MiB is part 2's
            let listed = try await listUploads()
            let key = try #require(S3Client.element("Key", in: listed)), id = try #require(S3Client.element("UploadId", in: listed))
            _ = try await client.send(.init(method: "DELETE", bucket: bucket, key: key, query: [("uploadId", id)]))
        }
        await #expect(throws: BlockStoreError.self) {
            _ = try await f.store.put(namespace: f.namespace, body: body, size: 12 << 20)
        }
        #expect(S3Client.element("UploadId", in: try await listUploads()) == nil)
    }

    /// Large reads are received by Tarn itself (`CurlDownload`): whole objects and ranges
    /// come back intact that way, and an answer other than the one asked for (a missing key,
    /// a length that is not the read's) is declined with nothing in the channel, so that the
    /// ordinary transfer can report it.
    @Test(arguments: Backend.allCases)
    func largeReadsAreReceivedDirectly(on backend: Backend) async throws {
        let f = try await S3Fixture(backend)
        let body = Chunks(count: 12, chunkSize: 1 << 20)
        let stored = try await f.store.put(namespace: f.namespace, body: body, size: 12 << 20)
        let (bucket, key) = try f.store.locate(f.namespace, stored.physicalAddress)
        var request = S3Client.Request(method: "GET", bucket: bucket, key: key)

        let whole = ByteChannel()
        #expect(await f.store.client.download(request, length: 12 << 20, into: whole))
        #expect(try await drain(whole) == body.allBytes)

        request.headers["range"] = "bytes=1000-\(1000 + (9 << 20) - 1)"
        let range = ByteChannel()
        #expect(await f.store.client.download(request, length: 9 << 20, into: range))
        #expect(try await drain(range) == Array(body.allBytes[1000..<(1000 + (9 << 20))]))

        request.headers["range"] = nil
        let wrongLength = ByteChannel()
        #expect(await f.store.client.download(request, length: 12 << 20 + 1, into: wrongLength) == false)
        wrongLength.finish()
        #expect(try await drain(wrongLength).isEmpty)
        request.key += "-missing"
        #expect(await f.store.client.download(request, length: 12 << 20, into: ByteChannel()) == false)

        // Through the store, which takes that path from 8 MiB.
        let tail = try await readAll(f.store.get(namespace: f.namespace, address: stored.physicalAddress, range: 5...(12 << 20)))
        #expect(tail == Array(body.allBytes[5...]))
    }

    /// Small reads from a plain-HTTP backend go over the event loop's own connections
    /// (`KeptConnections`) once it has one: whole (a body that arrives in several reads) or
    /// ranged, one after another on one connection. An answer that is not the one asked for
    /// gives nil and closes the connection; the next read still comes through curl.
    @Test(arguments: Backend.allCases)
    func smallReadsGoOverTheEventLoopsOwnConnections(on backend: Backend) async throws {
        let f = try await S3Fixture(backend)
        let body = Chunks(count: 1, chunkSize: 300_000)
        let stored = try await f.store.put(namespace: f.namespace, body: body, size: 300_000)
        let bytes = body.allBytes
        let kept = try #require(f.store.client.kept)
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let connections = kept.connections(of: loop)
        @Sendable func read(_ range: ClosedRange<Int64>?, size: Int64 = 300_000, address: String? = nil) async throws -> [UInt8]? {
            let r = try #require(f.store.prepareRead(namespace: f.namespace, address: address ?? stored.physicalAddress,
                                                     range: range, size: size, limit: 1 << 20))
            let buffer = await withCheckedContinuation { (c: CheckedContinuation<ByteBuffer?, Never>) in
                loop.execute { r.start(on: loop) { c.resume(returning: $0) } }
            }
            return buffer.map { Array($0.readableBytesView) }
        }
        @Sendable func counts() async throws -> (served: Int, open: Int) {
            try await loop.submit { (connections.served, connections.counts.values.reduce(0) { $0 + $1.open }) }.get()
        }
        let (bucket, key) = try f.store.locate(f.namespace, stored.physicalAddress)
        let origin = f.store.client.signed(S3Client.Request(method: "GET", bucket: bucket, key: key)).origin

        try await kept.open(origin, for: connections).get()
        #expect(try await read(nil) == bytes)
        #expect(try await read(100...4099) == Array(bytes[100...4099]))
        var now = try await counts()
        #expect(now.served == 2 && now.open == 1)

        // A length that is not the object's: nil, and the connection is closed.
        #expect(try await read(nil, size: 300_001) == nil)
        now = try await counts()
        #expect(now.served == 2 && now.open == 0)
        // With no connection idle the read goes through curl.
        #expect(try await read(5...9) == Array(bytes[5...9]))
        #expect(try await counts().served == 2)

        // A missing object: nil, not the backend's error page.
        try await kept.open(origin, for: connections).get()
        #expect(try await read(nil, address: stored.physicalAddress + "-missing") == nil)
        #expect(try await counts().served == 2)
    }

    /// A long read relayed inside the kernel (`RemoteRelay`): the body that came with the
    /// backend's head and the rest spliced to a socket make the object, whole or a range; a
    /// read whose length is not the backend's is declined before a byte is taken; short
    /// reads and TLS endpoints are not relayed.
    @Test(arguments: Backend.allCases)
    func longReadsAreRelayedFromSocketToSocket(on backend: Backend) async throws {
        let f = try await S3Fixture(backend)
        let size = 9 << 20 + 4321
        let body = Chunks(count: 1, chunkSize: size)
        let stored = try await f.store.put(namespace: f.namespace, body: body, size: Int64(size))
        let bytes = body.allBytes
        @Sendable func relayed(_ range: ClosedRange<Int64>?, size claimed: Int64 = Int64(size)) throws -> [UInt8]? {
            let relay = try #require(f.store.prepareRelay(namespace: f.namespace, address: stored.physicalAddress, range: range, size: claimed))
            #expect(RemoteRelay.claim())
            defer { RemoteRelay.release() }
            guard let source = relay.open() else { return nil }
            var ends: [Int32] = [-1, -1]
            #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &ends) == 0)
            defer { close(ends[0]) }
            let out = ends[1]
            let relaying = Thread { _ = source.relay(to: out); close(out) }
            var received = source.leftover
            relaying.start()
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(ends[0], $0.baseAddress, $0.count) }
                if n <= 0 { break }
                received += buffer[..<n]
            }
            return received
        }
        #expect(try relayed(nil) == bytes)
        #expect(try relayed(1_000...(9 << 20)) == Array(bytes[1_000...(9 << 20)]))
        #expect(try relayed(nil, size: Int64(size) + 1) == nil)
        #expect(f.store.prepareRelay(namespace: f.namespace, address: stored.physicalAddress, range: 0...4095, size: Int64(size)) == nil)
    }

    private func drain(_ channel: ByteChannel) async throws -> [UInt8] {
        var out: [UInt8] = []
        while let run = try await channel.readRun(max: 4 << 20) {
            for piece in run { out += piece.readableBytesView }
        }
        return out
    }

    /// Calls made one after another reuse the same curl handles as they were left: each must
    /// still go out as its own method. A HEAD's no-body or a DELETE's custom method left on a
    /// handle would make the next GET answer nothing and the next PUT delete.
    @Test(arguments: Backend.allCases)
    func callsInTurnKeepTheirOwnMethod(on backend: Backend) async throws {
        let f = try await S3Fixture(backend)
        let small = Chunks(count: 1, chunkSize: 3000), large = Chunks(count: 6, chunkSize: 1 << 20)
        for round in 0..<3 {
            let a = try await f.store.put(namespace: f.namespace, body: small)
            #expect(try await f.store.size(namespace: f.namespace, address: a.physicalAddress) == 3000)
            #expect(try await readAll(f.store.get(namespace: f.namespace, address: a.physicalAddress, range: nil)) == small.allBytes)
            try await f.store.delete(namespace: f.namespace, address: a.physicalAddress)
            let b = try await f.store.put(namespace: f.namespace, body: small)
            #expect(try await readAll(f.store.get(namespace: f.namespace, address: b.physicalAddress, range: 10...19))
                    == Array(small.allBytes[10...19]))
            await #expect(throws: BlockStoreError.notFound(a.physicalAddress)) {
                try await f.store.size(namespace: f.namespace, address: a.physicalAddress)
            }
            #expect(try await readAll(f.store.get(namespace: f.namespace, address: b.physicalAddress, range: nil)) == small.allBytes)
            if round == 1 {
                // A multipart upload (POST, PUTs of parts, POST) and a streamed read in between.
                let c = try await f.store.put(namespace: f.namespace, body: large, size: 6 << 20)
                #expect(try await f.store.size(namespace: f.namespace, address: c.physicalAddress) == 6 << 20)
                #expect(try await readAll(f.store.get(namespace: f.namespace, address: c.physicalAddress, range: nil)) == large.allBytes)
                try await f.store.delete(namespace: f.namespace, address: c.physicalAddress)
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func aBodyOfTheWrongLengthIsRefused(on backend: Backend) async throws {
        let f = try await S3Fixture(backend)
        await #expect(throws: BlockStoreError.self) {
            _ = try await f.store.put(namespace: f.namespace, body: Chunks(count: 3, chunkSize: 1000), size: 5000)
        }
        await #expect(throws: BlockStoreError.self) {
            _ = try await f.store.put(namespace: f.namespace, body: Chunks(count: 2, chunkSize: 1 << 20), size: 3 << 20)
        }
    }

    @Test(arguments: Backend.allCases)
    func composeJoinsPartsOnTheBackend(on backend: Backend) async throws {
        let f = try await S3Fixture(backend)
        let a = Chunks(count: 5, chunkSize: 1 << 20), b = Chunks(count: 1, chunkSize: 1000)
        let pa = try await f.store.put(namespace: f.namespace, body: a)
        let pb = try await f.store.put(namespace: f.namespace, body: b)
        let joined = try await f.store.compose(namespace: f.namespace, parts: [pa.physicalAddress, pb.physicalAddress])
        #expect(joined.size == Int64(5 << 20 + 1000))
        let back = try await readAll(f.store.get(namespace: f.namespace, address: joined.physicalAddress, range: nil))
        #expect(back == a.allBytes + b.allBytes)
    }

    @Test(arguments: Backend.allCases)
    func claimsChecksTheBucketAndTheOwner(on backend: Backend) async throws {
        let f = try await S3Fixture(backend)
        let namespace = f.namespace
        try await f.store.claim(namespace: namespace + "/claimed", repository: "first")
        // The same repository may claim it again (a restart, a re-created repository).
        try await f.store.claim(namespace: namespace + "/claimed", repository: "first")
        await #expect(throws: BlockStoreError.namespaceRefused("\(namespace)/claimed is already the storage namespace of repository first")) {
            try await f.store.claim(namespace: namespace + "/claimed", repository: "second")
        }
        do {
            try await f.store.claim(namespace: "s3://no-such-bucket-here/x", repository: "r")
            Issue.record("a missing bucket was accepted")
        } catch let BlockStoreError.namespaceRefused(why) {
            #expect(why.contains("no-such-bucket-here does not exist"))
        }
    }

    @Test(arguments: Backend.allCases)
    func listingPagesThroughAPrefix(on backend: Backend) async throws {
        let f = try await S3Fixture(backend)
        let prefix = f.prefix + "listing/"
        for i in 0..<5 {
            _ = try await S3Client(settings: f.service.settings()).send(.init(method: "PUT", bucket: f.bucket,
                                                                             key: prefix + "f\(i) & <x>", body: .bytes(Array("v\(i)".utf8))))
        }
        var keys: [String] = []
        var token: String?
        repeat {
            let page = try await f.store.list("s3://\(f.bucket)/\(prefix)", continuation: token, max: 2)
            #expect(page.objects.count <= 2)
            keys += page.objects.map(\.key)
            token = page.next
        } while token != nil
        #expect(keys == (0..<5).map { prefix + "f\($0) & <x>" })
        // An absolute address reads the object where it is (an imported object).
        let reader = try await f.store.get(namespace: f.namespace, address: "s3://\(f.bucket)/\(prefix)f3 & <x>", range: nil)
        let bytes = try await readAll(reader)
        #expect(bytes == Array("v3".utf8))
    }

    @Test(arguments: Backend.allCases)
    func anUnreachableBackendIsAnErrorNotAHang(on backend: Backend) async throws {
        let f = try await S3Fixture(backend)
        var settings = f.service.settings(partSize: 5 << 20, maxRetries: 1)
        settings.endpoint = "http://127.0.0.1:9"  // discard port: nothing listens
        let dead = try S3BlockStore(settings: settings)
        do {
            _ = try await dead.put(namespace: f.namespace, body: Chunks(count: 1, chunkSize: 10))
            Issue.record("a put to a dead backend succeeded")
        } catch let BlockStoreError.unavailable(why) {
            #expect(why.contains("127.0.0.1:9"))
        }
    }

    /// A reader that is dropped part way stops the backend transfer (the thread does not stay
    /// blocked on a full channel).
    @Test(arguments: Backend.allCases)
    func droppingAReaderStopsTheTransfer(on backend: Backend) async throws {
        let f = try await S3Fixture(backend)
        let stored = try await f.store.put(namespace: f.namespace, body: Chunks(count: 16, chunkSize: 1 << 20), size: 16 << 20)
        for _ in 0..<3 {
            let reader = try await f.store.get(namespace: f.namespace, address: stored.physicalAddress, range: nil)
            var iterator = reader.makeAsyncIterator()
            _ = try await iterator.next()
        }
        // The backend still answers promptly: no connection or thread is stuck.
        let size = try await f.store.size(namespace: f.namespace, address: stored.physicalAddress)
        #expect(size == 16 << 20)
    }
}
