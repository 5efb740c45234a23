import Foundation
import Testing
import TarnBlock
#if canImport(Glibc)
import Glibc
#endif

/// Small objects in shared pack files (`PackFiles`): what the shared suite cannot see.
@Suite struct PackedObjectTests {
    let root: LocalRoot
    let store: LocalBlockStore
    let namespace = "local://bucket/repo"

    init() throws {
        root = try LocalRoot()
        store = try LocalBlockStore(root: root.url)
    }

    func bytes(of address: String, range: ClosedRange<Int64>? = nil) async throws -> [UInt8] {
        try await readAll(store.get(namespace: namespace, address: address, range: range))
    }

    func blocksAllocated(_ relative: String) throws -> Int {
        var st = stat()
        #expect(stat(root.url.appendingPathComponent(relative).path, &st) == 0)
        return Int(st.st_blocks)
    }

    // The test machines' file systems (ext4, tmpfs) punch holes; if this fails, the rest of the
    // suite below tests one file per object instead.
    @Test func packingIsOnWhereHolesCanBePunched() {
        #expect(store.packsSmallObjects)
        let off = try? LocalBlockStore(root: root.url, packSmallObjects: false)
        #expect(off?.packsSmallObjects == false)
    }

    @Test func smallObjectsShareOnePackAndBigOnesGetFiles() async throws {
        var addresses: [String] = []
        for size in [1, 4096, 4097, 65_536] {
            let stored = try await store.put(namespace: namespace, body: Chunks(count: 1, chunkSize: size))
            #expect(stored.size == Int64(size))
            addresses.append(stored.physicalAddress)
        }
        let packs = Set(addresses.map { $0.split(separator: "@").first.map(String.init) ?? "" })
        #expect(packs.count == 1 && packs.first!.hasPrefix("packs/"))
        // Unknown length, one byte over the limit: spills into a file of its own, bytes intact.
        let big = Chunks(count: 2, chunkSize: 32 * 1024 + 1)
        let stored = try await store.put(namespace: namespace, body: big)
        #expect(stored.physicalAddress.hasPrefix("data/"))
        #expect(stored.md5 == md5Hex(big.allBytes))
        #expect(try await bytes(of: stored.physicalAddress) == big.allBytes)
        #expect(root.files() == ["bucket/repo/" + packs.first!, "bucket/repo/" + stored.physicalAddress].sorted())
        // A declared size above the limit goes straight to a file.
        let declared = try await store.put(namespace: namespace, body: Chunks(count: 1, chunkSize: 70_000), size: 70_000)
        #expect(declared.physicalAddress.hasPrefix("data/"))
    }

    /// A pack is kept ahead of its objects with zeros (so a flush writes data only), and cut
    /// back to its last object when the store lets it go.
    @Test func aPacksZerosAheadAreCutWhenItIsDropped() async throws {
        let root = try LocalRoot()
        func size(_ relative: String) -> Int64 {
            var st = stat()
            return stat(root.url.appendingPathComponent(relative).path, &st) == 0 ? Int64(st.st_size) : -1
        }
        var store: LocalBlockStore? = try LocalBlockStore(root: root.url)
        let first = try await store!.put(namespace: namespace, body: Chunks(count: 1, chunkSize: 100))
        let second = try await store!.put(namespace: namespace, body: Chunks(count: 1, chunkSize: 5000))
        let pack = "bucket/repo/" + first.physicalAddress.split(separator: "@")[0]
        #expect(second.physicalAddress.hasPrefix(String(first.physicalAddress.split(separator: "@")[0]) + "@4096+"))
        #expect(size(pack) == 64 << 10)
        store = nil
        #expect(size(pack) == 3 * 4096)
        let again = try LocalBlockStore(root: root.url)
        #expect(try await readAll(again.get(namespace: namespace, address: second.physicalAddress, range: nil)) == Chunks(count: 1, chunkSize: 5000).allBytes)
    }

    @Test func concurrentUploadsAreAllKeptWhole() async throws {
        let store = self.store, namespace = self.namespace
        let stored = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for i in 0..<64 {
                group.addTask {
                    let s = try await store.put(namespace: namespace, body: Chunks(count: 1 + i % 3, chunkSize: 1000 + i))
                    return (i, s.physicalAddress)
                }
            }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        #expect(Set(stored.values).count == 64)
        for (i, address) in stored {
            #expect(try await bytes(of: address) == Chunks(count: 1 + i % 3, chunkSize: 1000 + i).allBytes)
        }
    }

    @Test func deletingAPackedObjectFreesItsBlocksAndSparesItsNeighbours() async throws {
        let bodies = (0..<3).map { Chunks(count: 2, chunkSize: 3000 + $0) }
        var addresses: [String] = []
        for body in bodies { addresses.append(try await store.put(namespace: namespace, body: body).physicalAddress) }
        let pack = "bucket/repo/" + addresses[0].split(separator: "@")[0]
        let before = try blocksAllocated(pack)
        try store.delete(namespace: namespace, address: addresses[1])
        #expect(try blocksAllocated(pack) < before)
        #expect(throws: BlockStoreError.notFound(addresses[1])) { try store.size(namespace: namespace, address: addresses[1]) }
        #expect(throws: BlockStoreError.notFound(addresses[1])) { try store.delete(namespace: namespace, address: addresses[1]) }
        #expect(try await bytes(of: addresses[0]) == bodies[0].allBytes)
        #expect(try await bytes(of: addresses[2]) == bodies[2].allBytes)
        #expect(try await bytes(of: addresses[2], range: 5990...9000) == Array(bodies[2].allBytes[5990...]))
    }

    /// Readers share an open pack: dropping one reader leaves the pack readable for the next,
    /// and an object deleted while its pack is held open is still not found.
    @Test func aPackHeldOpenStillRefusesAnObjectDeletedFromIt() async throws {
        let bodies = (0..<2).map { Chunks(count: 1, chunkSize: 2000 + $0) }
        var addresses: [String] = []
        for body in bodies { addresses.append(try await store.put(namespace: namespace, body: body).physicalAddress) }
        var early: ObjectReader? = try await store.get(namespace: namespace, address: addresses[0], range: nil)
        #expect(try await bytes(of: addresses[1]) == bodies[1].allBytes)
        early = nil
        #expect(early == nil)
        #expect(try await bytes(of: addresses[0]) == bodies[0].allBytes)
        try store.delete(namespace: namespace, address: addresses[0])
        await #expect(throws: BlockStoreError.notFound(addresses[0])) { _ = try await store.get(namespace: namespace, address: addresses[0], range: nil) }
        #expect(try await bytes(of: addresses[1], range: 10...20) == Array(bodies[1].allBytes[10...20]))
    }

    @Test func composedPartsMayBePackedOrNot() async throws {
        let small = Chunks(count: 1, chunkSize: 5000), large = Chunks(count: 3, chunkSize: 40_000)
        let a = try await store.put(namespace: namespace, body: small)
        let b = try await store.put(namespace: namespace, body: large)
        let c = try await store.put(namespace: namespace, body: Chunks(count: 1, chunkSize: 7))
        #expect(a.physicalAddress.hasPrefix("packs/") && b.physicalAddress.hasPrefix("data/"))
        let whole = try await store.compose(namespace: namespace, parts: [a, b, c, a].map(\.physicalAddress))
        let expected = small.allBytes + large.allBytes + Chunks(count: 1, chunkSize: 7).allBytes + small.allBytes
        #expect(whole.size == Int64(expected.count))
        #expect(try await bytes(of: whole.physicalAddress) == expected)
        try store.delete(namespace: namespace, address: c.physicalAddress)
        await #expect(throws: BlockStoreError.notFound(c.physicalAddress)) {
            _ = try await store.compose(namespace: namespace, parts: [a.physicalAddress, c.physicalAddress])
        }
    }

    @Test func aReopenedStoreStartsANewPackAndReadsTheOldOne() async throws {
        let first = try await store.put(namespace: namespace, body: Chunks(count: 1, chunkSize: 100))
        let again = try LocalBlockStore(root: root.url)
        let second = try await again.put(namespace: namespace, body: Chunks(count: 1, chunkSize: 100))
        #expect(first.physicalAddress.split(separator: "@")[0] != second.physicalAddress.split(separator: "@")[0])
        #expect(try await readAll(again.get(namespace: namespace, address: first.physicalAddress, range: nil)) == Chunks(count: 1, chunkSize: 100).allBytes)
    }

    @Test(arguments: ["packs/p@4095+10", "packs/p@0+0", "packs/p@-0+1", "packs/p@0+x", "packs/p", "packs/../x@0+1",
                      "packs/p@0+1+1", "packs/@0+1", "packs/p@99999999999999999999+1", "packs/p/..@0+1",
                      "packs/p@+1", "packs/p@0+", "packs/p@0+1x", "packs/p@0+١"])
    func malformedPackAddressesAreRefused(address: String) async throws {
        await #expect(throws: BlockStoreError.invalidPath(address)) { try await store.get(namespace: namespace, address: address, range: nil) }
        #expect(throws: BlockStoreError.invalidPath(address)) { try store.delete(namespace: namespace, address: address) }
    }
}
