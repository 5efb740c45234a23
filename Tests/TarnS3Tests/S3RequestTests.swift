import HTTPTypes
import Hummingbird
import Foundation
import Testing
@testable import TarnS3

@Suite struct S3RequestTests {
    func request(_ path: String, host: String = "127.0.0.1:8000") -> Request {
        let head = HTTPRequest(method: .get, scheme: "http", authority: host, path: path)
        return Request(head: head, body: .init(buffer: ByteBuffer()))
    }

    @Test func pathStyleSplitsBucketRefAndPath() {
        let r = S3Request(request("/repo/main/dir/a%20b+c.txt?list-type=2&prefix=a%2Fb&empty"), domain: "s3.local")
        #expect(r.bucket == "repo")
        #expect(r.key == "main/dir/a b+c.txt")
        #expect(r.refAndPath! == ("main", "dir/a b+c.txt"))
        #expect(r.q("prefix") == "a/b" && r.has("empty") && r.q("empty") == "")
        #expect(r.headers["host"] == "127.0.0.1:8000")
        #expect(S3Request(request("/"), domain: nil).bucket == nil)
        #expect(S3Request(request("/repo"), domain: nil).key == nil)
        #expect(S3Request(request("/repo/"), domain: nil).key == nil)
    }

    @Test func virtualHostStyleTakesTheBucketFromTheHost() {
        let r = S3Request(request("/main/x.csv", host: "repo.s3.local:8000"), domain: "s3.local")
        #expect(r.bucket == "repo" && r.key == "main/x.csv")
        #expect(S3Request(request("/main/x", host: "a.b.s3.local"), domain: "s3.local").bucket == "a.b")
        // Not under the domain, or the domain itself: path style.
        for host in ["s3.local", "s3.local:80", ".s3.local", "reposs3.local", "repo.s3.local.evil", "repo.s3.locall"] {
            let p = S3Request(request("/repo/main/x", host: host), domain: "s3.local")
            #expect(p.bucket == "repo" && p.key == "main/x", "\(host)")
        }
    }

    @Test func payloadHashesAreToldApart() {
        let hex = String(repeating: "0123456789abcdeF", count: 4)
        #expect(S3Gateway.PayloadHash(hex) == .sha256(hex))
        #expect(S3Gateway.PayloadHash("UNSIGNED-PAYLOAD") == .unsigned)
        #expect(S3Gateway.PayloadHash("STREAMING-AWS4-HMAC-SHA256-PAYLOAD") == .streaming(signed: true))
        #expect(S3Gateway.PayloadHash("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER") == .streaming(signed: true))
        #expect(S3Gateway.PayloadHash("STREAMING-UNSIGNED-PAYLOAD-TRAILER") == .streaming(signed: false))
        for bad in [String(hex.dropLast()), String(hex.dropLast()) + "g", String(hex.dropLast()) + "０", "", "unsigned-payload"] {
            #expect(S3Gateway.PayloadHash(bad) == nil, "\(bad)")
        }
    }

    @Test func rangesFollowS3() {
        #expect(S3Gateway.resolve(S3Gateway.parseRange("bytes=0-9")!, size: 100) == 0...9)
        #expect(S3Gateway.resolve(S3Gateway.parseRange("bytes=90-")!, size: 100) == 90...99)
        #expect(S3Gateway.resolve(S3Gateway.parseRange("bytes=50-500")!, size: 100) == 50...99)
        #expect(S3Gateway.resolve(S3Gateway.parseRange("bytes=-10")!, size: 100) == 90...99)
        #expect(S3Gateway.resolve(S3Gateway.parseRange("bytes=-200")!, size: 100) == 0...99)
        #expect(S3Gateway.resolve(S3Gateway.parseRange("bytes=100-")!, size: 100) == nil)
        #expect(S3Gateway.resolve(S3Gateway.parseRange("bytes=0-0")!, size: 0) == nil)
        // What S3 ignores (and serves whole): several ranges, other units, reversed bounds.
        #expect(S3Gateway.parseRange("bytes=0-1,5-6") == nil)
        #expect(S3Gateway.parseRange("items=0-1") == nil)
        #expect(S3Gateway.parseRange("bytes=9-1") == nil)
    }

    @Test func partLayoutRoundTripsAndLocatesParts() {
        let mib = Int64(1 << 20)
        let even = PartLayout(Array(repeating: PartLayout.Part(size: 5 * mib, checksum: nil), count: 3) + [PartLayout.Part(size: mib, checksum: nil)])
        #expect(even.encoded == "5242880*3,1048576")
        #expect(PartLayout(encoded: even.encoded) == even)
        #expect(even.range(ofPart: 1) == 0...(5 * mib - 1))
        #expect(even.range(ofPart: 4) == (15 * mib)...(16 * mib - 1))
        #expect(even.range(ofPart: 5) == nil && even.range(ofPart: 0) == nil)
        let summed = PartLayout([.init(size: 7, checksum: "q83v"), .init(size: 7, checksum: "AAE=")])
        #expect(PartLayout(encoded: summed.encoded) == summed)
        #expect(PartLayout(encoded: "") == nil && PartLayout(encoded: "x*2") == nil)
    }

    @Test func xmlEscapes() {
        #expect(XMLWriter.escape("a<b>&\"'\u{1}") == "a&lt;b&gt;&amp;&quot;&apos;&#1;")
    }
}

@Suite struct ChecksumTests {
    func value(_ a: ChecksumAlgorithm, _ text: String) -> String {
        var c = RunningChecksum(a)
        Array(text.utf8).withUnsafeBytes { c.update($0) }
        return c.finalBase64()
    }

    /// The catalogued check values of each CRC over "123456789".
    @Test func crcCheckValues() {
        func b64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }
        #expect(value(.crc32, "123456789") == b64([0xCB, 0xF4, 0x39, 0x26]))
        #expect(value(.crc32c, "123456789") == b64([0xE3, 0x06, 0x92, 0x83]))
        #expect(value(.crc64nvme, "123456789") == b64([0xAE, 0x8B, 0x14, 0x86, 0x0A, 0x79, 0x98, 0x88]))
    }

    /// A FULL_OBJECT checksum combined from parts equals the CRC of the whole, for every cut
    /// of a text into three parts (empty parts included).
    @Test func fullObjectCRCsCombineFromParts() {
        let text = "The quick brown fox jumps over the lazy dog, 0123456789."
        let bytes = Array(text.utf8)
        for algorithm in [ChecksumAlgorithm.crc32, .crc32c, .crc64nvme] {
            let whole = value(algorithm, text)
            for a in stride(from: 0, through: bytes.count, by: 7) {
                for b in stride(from: a, through: bytes.count, by: 5) {
                    let parts = [bytes[..<a], bytes[a..<b], bytes[b...]].map { slice in
                        (checksum: value(algorithm, String(decoding: slice, as: UTF8.self)), size: Int64(slice.count))
                    }
                    #expect(MultipartChecksum.combine(algorithm, .fullObject, parts: parts) == whole)
                }
            }
        }
    }

    /// COMPOSITE: the algorithm over the concatenated raw part checksums, with `-N`.
    @Test func compositeChecksumHashesThePartChecksums() {
        let parts = ["a", "b"].map { (checksum: value(.sha256, $0), size: Int64(1)) }
        var raw = Data(base64Encoded: parts[0].checksum)!
        raw += Data(base64Encoded: parts[1].checksum)!
        var expected = RunningChecksum(.sha256)
        Array(raw).withUnsafeBytes { expected.update($0) }
        #expect(MultipartChecksum.combine(.sha256, .composite, parts: parts) == expected.finalBase64() + "-2")
        #expect(MultipartChecksum.combine(.sha256, .composite, parts: [(checksum: "bad", size: 1)]) == nil)
    }
}
