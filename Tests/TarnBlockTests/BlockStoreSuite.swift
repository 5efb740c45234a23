import Crypto
import Foundation
import Testing
import TarnBlock

/// Deterministic chunks of bytes; fails with `Cut` before chunk `failAt` when set, and runs
/// `hook` before handing out chunk `before` (once the reader has taken all before it).
struct Chunks: AsyncSequence, Sendable {
    typealias Element = [UInt8]
    let count: Int
    let chunkSize: Int
    var failAt: Int?
    var before: Int?
    var hook: (@Sendable () async throws -> Void)?

    init(count: Int, chunkSize: Int, failAt: Int? = nil) {
        self.count = count
        self.chunkSize = chunkSize
        self.failAt = failAt
    }

    init(count: Int, chunkSize: Int, before: Int, hook: @escaping @Sendable () async throws -> Void) {
        self.init(count: count, chunkSize: chunkSize)
        self.before = before
        self.hook = hook
    }

    struct Cut: Error {}

    struct AsyncIterator: AsyncIteratorProtocol {
        let source: Chunks
        var index = 0
        mutating func next() async throws -> [UInt8]? {
            if let f = source.failAt, index == f { throw Cut() }
            if let b = source.before, index == b { try await source.hook?() }
            guard index < source.count else { return nil }
            defer { index += 1 }
            return Chunks.chunk(index, size: source.chunkSize)
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(source: self) }

    static func chunk(_ i: Int, size: Int) -> [UInt8] { (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i &* 7) } }

    var allBytes: [UInt8] { (0..<count).flatMap { Self.chunk($0, size: chunkSize) } }
}

func md5Hex(_ bytes: [UInt8]) -> String { Insecure.MD5.hash(data: bytes).map { String(format: "%02x", $0) }.joined() }

func readAll(_ reader: ObjectReader) async throws -> [UInt8] {
    var out: [UInt8] = []
    for try await chunk in reader { out += chunk }
    return out
}

/// The behaviour every `BlockStore` must have (lakeFS keeps one such suite for all its
/// adapters). A new store is done when it passes all of these with its own namespace.
struct BlockStoreSuite {
    let store: any BlockStore
    let namespace: String

    func roundTripKeepsBytesAndMD5() async throws {
        for (count, size) in [(0, 1), (1, 1), (3, 1000), (40, 65_536)] {
            let body = Chunks(count: count, chunkSize: size)
            let stored = try await store.put(namespace: namespace, body: body)
            let expected = body.allBytes
            #expect(stored.size == Int64(expected.count))
            #expect(stored.md5 == md5Hex(expected))
            let back = try await readAll(try await store.get(namespace: namespace, address: stored.physicalAddress, range: nil))
            #expect(back == expected)
            let size = try await store.size(namespace: namespace, address: stored.physicalAddress)
            #expect(size == Int64(expected.count))
        }
    }

    func rangesAreClampedAndCheckedAgainstSize() async throws {
        let body = Chunks(count: 2, chunkSize: 500)
        let all = body.allBytes
        let stored = try await store.put(namespace: namespace, body: body)
        let a = stored.physicalAddress
        let head = try await readAll(store.get(namespace: namespace, address: a, range: 0...9))
        #expect(head == Array(all[0...9]))
        let end = try await readAll(store.get(namespace: namespace, address: a, range: 990...5000))
        #expect(end == Array(all[990...]))
        let tail = try await store.get(namespace: namespace, address: a, range: 999...999)
        #expect(tail.length == 1 && tail.objectSize == 1000)
        let tailBytes = try await readAll(tail)
        #expect(tailBytes == [all[999]])
        await #expect(throws: BlockStoreError.invalidRange(size: 1000)) { try await store.get(namespace: namespace, address: a, range: 1000...1001) }
    }

    func everyPutGetsAFreshAddress() async throws {
        let a = try await store.put(namespace: namespace, body: Chunks(count: 1, chunkSize: 10))
        let b = try await store.put(namespace: namespace, body: Chunks(count: 1, chunkSize: 10))
        #expect(a.physicalAddress != b.physicalAddress)
        #expect(a.md5 == b.md5)
    }

    func cutBodyLeavesNothing() async throws {
        await #expect(throws: BlockStoreError.self) {
            _ = try await store.put(namespace: namespace, body: Chunks(count: 10, chunkSize: 1000, failAt: 5))
        }
    }

    func deletedObjectIsNotFound() async throws {
        let a = try await store.put(namespace: namespace, body: Chunks(count: 1, chunkSize: 10))
        try await store.delete(namespace: namespace, address: a.physicalAddress)
        await #expect(throws: BlockStoreError.notFound(a.physicalAddress)) {
            try await store.get(namespace: namespace, address: a.physicalAddress, range: nil)
        }
        await #expect(throws: BlockStoreError.notFound(a.physicalAddress)) { try await store.delete(namespace: namespace, address: a.physicalAddress) }
    }
}
