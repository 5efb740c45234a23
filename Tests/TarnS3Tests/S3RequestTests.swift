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
}
