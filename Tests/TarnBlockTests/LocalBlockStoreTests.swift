import Foundation
import Testing
import TarnBlock

final class LocalRoot {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("tarn-block-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }

    /// Regular files under the root, relative paths.
    func files() -> [String] {
        let e = FileManager.default.enumerator(at: url, includingPropertiesForKeys: [.isRegularFileKey])!
        return e.compactMap { item -> String? in
            let u = item as! URL
            guard (try? u.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { return nil }
            return String(u.path.dropFirst(url.path.count + 1))
        }.sorted()
    }
}

@Suite struct LocalBlockStoreTests {
    /// `packing`: small objects in pack files (the default) or one file per object.
    func suite(packing: Bool = true) throws -> (BlockStoreSuite, LocalRoot) {
        let root = try LocalRoot()
        return (BlockStoreSuite(store: try LocalBlockStore(root: root.url, packSmallObjects: packing), namespace: "local://bucket/repo"), root)
    }

    @Test(arguments: [true, false]) func roundTrip(packing: Bool) async throws {
        let (s, root) = try suite(packing: packing)
        try await s.roundTripKeepsBytesAndMD5()
        withExtendedLifetime(root) {}
    }
    @Test(arguments: [true, false]) func ranges(packing: Bool) async throws {
        let (s, root) = try suite(packing: packing)
        try await s.rangesAreClampedAndCheckedAgainstSize()
        withExtendedLifetime(root) {}
    }
    @Test(arguments: [true, false]) func freshAddresses(packing: Bool) async throws {
        let (s, root) = try suite(packing: packing)
        try await s.everyPutGetsAFreshAddress()
        withExtendedLifetime(root) {}
    }
    @Test(arguments: [true, false]) func deletes(packing: Bool) async throws {
        let (s, root) = try suite(packing: packing)
        try await s.deletedObjectIsNotFound()
        withExtendedLifetime(root) {}
    }

    @Test(arguments: [true, false]) func cutUploadLeavesNoFile(packing: Bool) async throws {
        let (s, root) = try suite(packing: packing)
        try await s.cutBodyLeavesNothing()
        #expect(root.files() == [])
    }

    @Test func objectsLiveUnderTheirNamespace() async throws {
        let (s, root) = try suite()
        let stored = try await s.store.put(namespace: s.namespace, body: Chunks(count: 1, chunkSize: 3))
        // A packed object's file is its pack: the address up to `@`.
        let file = stored.physicalAddress.split(separator: "@")[0]
        #expect(root.files() == ["bucket/repo/\(file)"])
    }

    @Test func leftoverTemporaryFilesAreRemovedOnOpen() throws {
        let root = try LocalRoot()
        _ = try LocalBlockStore(root: root.url)
        try Data([1, 2, 3]).write(to: root.url.appendingPathComponent(".tmp/partial"))
        _ = try LocalBlockStore(root: root.url)
        #expect(root.files() == [])
    }

    @Test(arguments: ["local://../x", "local:///abs", "local://a/../../b", "local://a/./b", "local://a\u{0}b",
                      "local://", "local://a//b", "local://a\\..\\b"])
    func namespacesThatLeaveTheRootAreRefused(namespace: String) async throws {
        let (s, root) = try suite()
        await #expect(throws: BlockStoreError.invalidPath(namespace)) {
            _ = try await s.store.put(namespace: namespace, body: Chunks(count: 1, chunkSize: 1))
        }
        #expect(root.files() == [])
    }

    /// Dots are refused only as whole `.` and `..` segments.
    @Test(arguments: [true, false]) func segmentsWithDotsAreServed(packing: Bool) async throws {
        let root = try LocalRoot()
        let store = try LocalBlockStore(root: root.url, packSmallObjects: packing)
        let namespace = "local://bucket/.hidden/.../a..b"
        let stored = try await store.put(namespace: namespace, body: Chunks(count: 1, chunkSize: 5))
        #expect(try await readAll(store.get(namespace: namespace, address: stored.physicalAddress, range: nil)) == Chunks(count: 1, chunkSize: 5).allBytes)
        #expect(root.files().allSatisfy { $0.hasPrefix("bucket/.hidden/.../a..b/") })
    }

    @Test func otherSchemesAreNotServed() async throws {
        let (s, root) = try suite()
        defer { withExtendedLifetime(root) {} }
        await #expect(throws: BlockStoreError.unsupportedNamespace("s3://bucket")) {
            _ = try await s.store.put(namespace: "s3://bucket", body: Chunks(count: 1, chunkSize: 1))
        }
    }

    @Test(arguments: ["../../etc/passwd", "/etc/passwd", "data/../../x", "data/./x", "a\u{0}b", "data/..", "data/.", "data/", "",
                      "data//x", "data\\x", "data/\u{7F}"])
    func addressesThatLeaveTheNamespaceAreRefused(address: String) async throws {
        let (s, root) = try suite()
        defer { withExtendedLifetime(root) {} }
        await #expect(throws: BlockStoreError.invalidPath(address)) { try await s.store.get(namespace: s.namespace, address: address, range: nil) }
        await #expect(throws: BlockStoreError.invalidPath(address)) { try await s.store.delete(namespace: s.namespace, address: address) }
    }

    @Test func symlinkOutOfTheRootIsRefused() async throws {
        let (s, root) = try suite()
        let outside = try LocalRoot()
        try FileManager.default.createSymbolicLink(at: root.url.appendingPathComponent("evil"), withDestinationURL: outside.url)
        await #expect(throws: BlockStoreError.invalidPath("local://evil")) {
            _ = try await s.store.put(namespace: "local://evil", body: Chunks(count: 1, chunkSize: 1))
        }
        #expect(outside.files() == [])
        // A symlinked object file is not followed either.
        let secret = outside.url.appendingPathComponent("secret")
        try Data("secret".utf8).write(to: secret)
        try FileManager.default.createDirectory(at: root.url.appendingPathComponent("bucket/repo/data"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(at: root.url.appendingPathComponent("bucket/repo/data/link"), withDestinationURL: secret)
        await #expect(throws: BlockStoreError.invalidPath("data/link")) { try await s.store.get(namespace: s.namespace, address: "data/link", range: nil) }
    }

    @Test func largeObjectStreamsInBoundedChunks() async throws {
        let (s, root) = try suite()
        defer { withExtendedLifetime(root) {} }
        let body = Chunks(count: 128, chunkSize: 64 * 1024) // 8 MiB
        let stored = try await s.store.put(namespace: s.namespace, body: body)
        #expect(stored.size == 8 << 20)
        var largest = 0
        var total = 0
        for try await chunk in try await s.store.get(namespace: s.namespace, address: stored.physicalAddress, range: nil) {
            largest = max(largest, chunk.count)
            total += chunk.count
        }
        #expect(total == 8 << 20)
        #expect(largest <= 1 << 20) // read 1 MiB at a time, never the whole 8 MiB
        #expect(stored.md5 == md5Hex(body.allBytes))
    }

    /// Uploads are written in 1 MiB batches (full ones with O_DIRECT where the file system
    /// takes it): chunks that straddle a batch's end, chunks bigger than a batch, a body that
    /// ends exactly on a batch and one that ends a byte past it all read back whole.
    @Test(arguments: [(700_001, 5), (3 << 20 | 5, 2), (1 << 20, 2), (1 << 20, 1), (65_537, 17)])
    func uploadsWhoseChunksStraddleBatchesKeepEveryByte(chunkSize: Int, count: Int) async throws {
        let (s, root) = try suite()
        defer { withExtendedLifetime(root) {} }
        let body = Chunks(count: count, chunkSize: chunkSize)
        let stored = try await s.store.put(namespace: s.namespace, body: body)
        let bytes = try await readAll(s.store.get(namespace: s.namespace, address: stored.physicalAddress, range: nil))
        #expect(stored.size == Int64(chunkSize * count))
        // Not `#expect(bytes == …)`: on failure it would diff two arrays of megabytes.
        let intact = bytes == body.allBytes
        #expect(intact)
        #expect(stored.md5 == md5Hex(body.allBytes))
    }
}
