import Foundation
import Testing
@testable import TarnBlock

/// A `tarn serve` child process used as the S3 service behind `S3BlockStore`: a real S3
/// server (SigV4-checking, multipart, UploadPartCopy) that needs nothing but this build. Its
/// bucket is a repository, so a namespace is `s3://<repo>/main/<prefix>`. Stopped by PID.
final class BackendTarn: @unchecked Sendable {
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

    func settings(partSize: Int64 = 5 << 20, maxRetries: Int = 2) -> S3Settings {
        S3Settings(endpoint: url, accessKeyID: Self.keyID, secretAccessKey: Self.secret, partSize: partSize,
                   connectTimeout: 2, stallTimeout: 10, maxRetries: maxRetries)
    }

    /// A fresh bucket (repository) on the backend.
    func makeBucket() async throws -> String {
        let name = "b" + UUID().uuidString.lowercased().prefix(12)
        _ = try await S3Client(settings: settings()).send(.init(method: "PUT", bucket: String(name)))
        return String(name)
    }

    deinit {
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }
}

@Suite(.serialized) struct S3BlockStoreTests {
    let backend: BackendTarn
    let store: S3BlockStore
    let namespace: String

    init() async throws {
        backend = try BackendTarn()
        store = S3BlockStore(settings: backend.settings())
        namespace = "s3://\(try await backend.makeBucket())/main/lake"
    }

    var suite: BlockStoreSuite { BlockStoreSuite(store: store, namespace: namespace) }

    @Test func sharedSuite() async throws {
        try await suite.roundTripKeepsBytesAndMD5()
        try await suite.rangesAreClampedAndCheckedAgainstSize()
        try await suite.everyPutGetsAFreshAddress()
        try await suite.cutBodyLeavesNothing()
        try await suite.deletedObjectIsNotFound()
    }

    /// Bodies larger than a part become multipart uploads on the backend, streamed when the
    /// size is known and spooled part by part when it is not; the bytes and MD5 survive both.
    @Test(arguments: [true, false])
    func largeBodiesGoUpInParts(sizeKnown: Bool) async throws {
        let body = Chunks(count: 12, chunkSize: 1 << 20)  // 12 MiB: three 5 MiB parts
        let stored = try await store.put(namespace: namespace, body: body, size: sizeKnown ? 12 << 20 : nil)
        #expect(stored.size == 12 << 20)
        #expect(stored.md5 == md5Hex(body.allBytes))
        let back = try await readAll(store.get(namespace: namespace, address: stored.physicalAddress, range: nil))
        #expect(back == body.allBytes)
        let middle = try await readAll(store.get(namespace: namespace, address: stored.physicalAddress, range: (5 << 20 - 3)...(5 << 20 + 3)))
        #expect(middle == Array(body.allBytes[(5 << 20 - 3)...(5 << 20 + 3)]))
    }

    @Test func aBodyOfTheWrongLengthIsRefused() async throws {
        await #expect(throws: BlockStoreError.self) {
            _ = try await store.put(namespace: namespace, body: Chunks(count: 3, chunkSize: 1000), size: 5000)
        }
        await #expect(throws: BlockStoreError.self) {
            _ = try await store.put(namespace: namespace, body: Chunks(count: 2, chunkSize: 1 << 20), size: 3 << 20)
        }
    }

    @Test func composeJoinsPartsOnTheBackend() async throws {
        let a = Chunks(count: 5, chunkSize: 1 << 20), b = Chunks(count: 1, chunkSize: 1000)
        let pa = try await store.put(namespace: namespace, body: a)
        let pb = try await store.put(namespace: namespace, body: b)
        let joined = try await store.compose(namespace: namespace, parts: [pa.physicalAddress, pb.physicalAddress])
        #expect(joined.size == Int64(5 << 20 + 1000))
        let back = try await readAll(store.get(namespace: namespace, address: joined.physicalAddress, range: nil))
        #expect(back == a.allBytes + b.allBytes)
    }

    @Test func claimsChecksTheBucketAndTheOwner() async throws {
        try await store.claim(namespace: namespace + "/claimed", repository: "first")
        // The same repository may claim it again (a restart, a re-created repository).
        try await store.claim(namespace: namespace + "/claimed", repository: "first")
        await #expect(throws: BlockStoreError.namespaceRefused("\(namespace)/claimed is already the storage namespace of repository first")) {
            try await store.claim(namespace: namespace + "/claimed", repository: "second")
        }
        do {
            try await store.claim(namespace: "s3://no-such-bucket-here/x", repository: "r")
            Issue.record("a missing bucket was accepted")
        } catch let BlockStoreError.namespaceRefused(why) {
            #expect(why.contains("no-such-bucket-here does not exist"))
        }
    }

    @Test func listingPagesThroughAPrefix() async throws {
        for i in 0..<5 {
            _ = try await S3Client(settings: backend.settings()).send(.init(method: "PUT", bucket: String(namespace.dropFirst(5).prefix { $0 != "/" }),
                                                                            key: "main/listing/f\(i) & <x>", body: .bytes(Array("v\(i)".utf8))))
        }
        let bucket = namespace.dropFirst(5).prefix { $0 != "/" }
        var keys: [String] = []
        var token: String?
        repeat {
            let page = try await store.list("s3://\(bucket)/main/listing/", continuation: token, max: 2)
            #expect(page.objects.count <= 2)
            keys += page.objects.map(\.key)
            token = page.next
        } while token != nil
        #expect(keys == (0..<5).map { "main/listing/f\($0) & <x>" })
        // An absolute address reads the object where it is (an imported object).
        let reader = try await store.get(namespace: namespace, address: "s3://\(bucket)/main/listing/f3 & <x>", range: nil)
        let bytes = try await readAll(reader)
        #expect(bytes == Array("v3".utf8))
    }

    @Test func anUnreachableBackendIsAnErrorNotAHang() async throws {
        var settings = backend.settings(maxRetries: 1)
        settings.endpoint = "http://127.0.0.1:9"  // discard port: nothing listens
        let dead = S3BlockStore(settings: settings)
        do {
            _ = try await dead.put(namespace: namespace, body: Chunks(count: 1, chunkSize: 10))
            Issue.record("a put to a dead backend succeeded")
        } catch let BlockStoreError.unavailable(why) {
            #expect(why.contains("127.0.0.1:9"))
        }
    }

    /// A reader that is dropped part way stops the backend transfer (the thread does not stay
    /// blocked on a full channel).
    @Test func droppingAReaderStopsTheTransfer() async throws {
        let stored = try await store.put(namespace: namespace, body: Chunks(count: 16, chunkSize: 1 << 20), size: 16 << 20)
        for _ in 0..<3 {
            let reader = try await store.get(namespace: namespace, address: stored.physicalAddress, range: nil)
            var iterator = reader.makeAsyncIterator()
            _ = try await iterator.next()
        }
        // The backend still answers promptly: no connection or thread is stuck.
        let size = try await store.size(namespace: namespace, address: stored.physicalAddress)
        #expect(size == 16 << 20)
    }
}
