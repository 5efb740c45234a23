import Foundation
import Testing
import TarnCore

@Suite struct EncodingTests {
    @Test func pathsOrderByUTF8BytesNotByUnicodeNormalisation() {
        // "é" precomposed (C3 A9) and decomposed (65 CC 81) are equal to Swift's == but are
        // different S3 keys; bytes decide.
        let precomposed = "caf\u{e9}", decomposed = "cafe\u{301}"
        #expect(precomposed == decomposed)
        #expect(!pathsEqual(precomposed, decomposed))
        #expect(pathPrecedes(decomposed, precomposed))
        #expect(pathPrecedes("a/b", "a0"))
        #expect(pathPrecedes("Z", "a"))
        #expect(comparePaths("abc", "abc") == 0)
        #expect("a/b/c".hasPathPrefix("a/b/") && !"a/bc".hasPathPrefix("a/b/"))
    }

    @Test func varintsAndStringMapsRoundTrip() throws {
        var w = ByteWriter()
        for v: Int64 in [0, 1, -1, 127, 128, -129, .max, .min] { w.varint(v) }
        w.stringMap(["b": "2", "a": "1", "": "empty"])
        w.string("héllo")
        var r = ByteReader(w.bytes)
        for v: Int64 in [0, 1, -1, 127, 128, -129, .max, .min] { #expect(try r.varint() == v) }
        #expect(try r.stringMap() == ["b": "2", "a": "1", "": "empty"])
        #expect(try r.string() == "héllo")
        #expect(r.isAtEnd)
        #expect(throws: EngineError.self) { _ = try r.byte() }
    }

    @Test func stringMapEncodingIsCanonical() {
        var a = ByteWriter(), b = ByteWriter()
        a.stringMap(["x": "1", "y": "2", "z": "3"])
        b.stringMap(["z": "3", "x": "1", "y": "2"])
        #expect(a.bytes == b.bytes)
    }

    @Test func truncatedInputIsCorruptNotACrash() {
        var w = ByteWriter()
        w.string("a long enough string")
        var r = ByteReader(Array(w.bytes.prefix(5)))
        #expect(throws: EngineError.corrupt("length past end")) { _ = try r.string() }
    }

    @Test func entryValueRoundTripsWithMetadata() throws {
        let e = Entry(path: "p/q", physicalAddress: "addr", size: 42, checksum: "abc", contentType: "text/csv",
                      metadata: ["k": "v", "x-amz-meta-a": "b"], mtime: -5)
        let decoded = try EntryCoding.decodeValue(path: "p/q", bytes: EntryCoding.encodeValue(e))
        #expect(decoded == e)
        #expect(decoded.isIdentical(to: e))
    }

    @Test func emptyMetarangeHasStableID() throws {
        let (id, bytes) = TreeCoding.emptyMetarange
        #expect(id == ContentHash.sha256Hex(bytes))
        #expect(try TreeCoding.decodeMetarange(bytes).isEmpty)
        #expect(ContentHash.sha256Hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }
}

@Suite struct MetarangeFormatTests {
    @Test func metarangeRoundTripsWithSharedKeyPrefixes() throws {
        let ranges = [
            RangeInfo(id: ContentHash.sha256Hex([1]), firstKey: "a/1", lastKey: "a/9", count: 3, bytes: 100),
            RangeInfo(id: ContentHash.sha256Hex([2]), firstKey: "a/90", lastKey: "b", count: 1, bytes: 7),
            RangeInfo(id: ContentHash.sha256Hex([3]), firstKey: "b/é", lastKey: "b/é/z", count: 9000, bytes: 1 << 20),
        ]
        let (id, bytes) = TreeCoding.encodeMetarange(ranges)
        #expect(try TreeCoding.decodeMetarange(bytes) == ranges)
        #expect(id == ContentHash.sha256Hex(bytes))
        #expect(throws: EngineError.self) { try TreeCoding.decodeMetarange(bytes + [0]) }
    }
}

@Suite struct HTTPDateFormatTests {
    @Test func rfc1123MatchesFoundationsFormatter() {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        // The edges of the range, then a seeded walk through 1970-2100 (every weekday, month
        // and two-digit field is met).
        var times: [Int64] = [0, 59, 86_399, 951_782_400, 4_102_444_799]
        var state: UInt64 = 20_261_204
        for _ in 0..<2_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            times.append(Int64(state % 4_102_444_800))
        }
        for t in times {
            #expect(HTTPDate.rfc1123(t) == formatter.string(from: Date(timeIntervalSince1970: TimeInterval(t))), "\(t)")
        }
    }
}
