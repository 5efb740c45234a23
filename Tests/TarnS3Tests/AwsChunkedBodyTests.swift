import Hummingbird
import NIOCore
import Testing
import TarnCore
@testable import TarnS3

/// The aws-chunked decoder over bodies cut into the connection's buffers at arbitrary points:
/// the bytes come out whole and in order wherever the cuts fall (inside a chunk header, its
/// data, its CRLF or the trailers), and a bad signature, framing or length fails the body.
@Suite struct AwsChunkedBodyTests {
    let scope = SigV4.Scope(date: "20130524", region: "us-east-1", service: "s3")
    let amzDate = "20130524T000000Z"
    let seed: String
    var key: SigV4.SigningKey { SigV4.SigningKey(SigV4.signingKey(secret: "chunk-secret", scope: scope)) }
    var signing: AwsChunkedBody.Signing { .init(seedSignature: seed, amzDate: amzDate, scopeText: scope.text, key: key) }

    /// The body a client sends: each chunk (and the last, empty one) with its header, signed
    /// in a chain from `seed` when `signed`, then the trailer when given (signed too), then an
    /// empty line.
    func encode(_ chunks: [[UInt8]], signed: Bool, trailer: (name: String, value: String)? = nil) -> [UInt8] {
        var out: [UInt8] = [], previous = seed
        for chunk in chunks + [[]] {
            var header = String(chunk.count, radix: 16)
            if signed {
                let toSign = ["AWS4-HMAC-SHA256-PAYLOAD", amzDate, scope.text, previous, SigV4.emptySHA256,
                              ContentHash.sha256Hex(chunk)].joined(separator: "\n")
                previous = key.sign(toSign)
                header += ";chunk-signature=" + previous
            }
            out += Array((header + "\r\n").utf8)
            if !chunk.isEmpty { out += chunk + [0x0D, 0x0A] }
        }
        if let trailer {
            out += Array("\(trailer.name):\(trailer.value)\r\n".utf8)
            if signed {
                let toSign = ["AWS4-HMAC-SHA256-TRAILER", amzDate, scope.text, previous,
                              ContentHash.sha256Hex(Array("\(trailer.name):\(trailer.value)\n".utf8))].joined(separator: "\n")
                out += Array("x-amz-trailer-signature:\(key.sign(toSign))\r\n".utf8)
            }
        }
        return out + [0x0D, 0x0A]
    }

    /// The pieces of `bytes` between random cuts (some a byte long).
    func cut(_ bytes: [UInt8], _ random: inout SplitMix) -> [ByteBuffer] {
        var pieces: [ByteBuffer] = [], start = 0
        while start < bytes.count {
            let n = random.next() % 4 == 0 ? 1 : Int(random.next() % 9000) + 1
            let end = min(bytes.count, start + n)
            pieces.append(ByteBuffer(bytes: bytes[start..<end]))
            start = end
        }
        return pieces
    }

    struct Pieces: AsyncSequence, Sendable {
        let pieces: [ByteBuffer]
        struct AsyncIterator: AsyncIteratorProtocol {
            var rest: ArraySlice<ByteBuffer>
            mutating func next() async -> ByteBuffer? { rest.popFirst() }
        }
        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(rest: pieces[...]) }
    }

    func decode(_ pieces: [ByteBuffer], signed: Bool, trailer: String? = nil, decodedLength: Int64? = nil) async throws -> ([UInt8], String?) {
        let body = AwsChunkedBody(base: RequestBody(asyncSequence: Pieces(pieces: pieces)), signing: signed ? signing : nil,
                                  trailer: trailer, decodedLength: decodedLength)
        var it = body.makeAsyncIterator(), out: [UInt8] = []
        while let piece = try await it.next() { out += piece.readableBytesView }
        return (out, it.trailerValue)
    }

    func chunks(_ random: inout SplitMix) -> [[UInt8]] {
        (0..<Int(random.next() % 5) + 1).map { i in
            let size = [1, 100, 8192, 65_536, 70_000][Int(random.next() % 5)]
            return (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i) }
        }
    }

    @Test func bytesComeOutWholeWhereverTheBodyIsCut() async throws {
        var random = SplitMix(seed: 7)
        for round in 0..<60 {
            let signed = round % 2 == 0
            let data = chunks(&random)
            let encoded = encode(data, signed: signed, trailer: ("x-amz-checksum-crc32", "AAAAAA=="))
            let (out, trailer) = try await decode(cut(encoded, &random), signed: signed, trailer: "x-amz-checksum-crc32",
                                                  decodedLength: Int64(data.joined().count))
            #expect(out == Array(data.joined()), "round \(round)")
            #expect(trailer == "AAAAAA==")
        }
    }

    @Test func aChangedByteOrAWrongChainFailsASignedBody() async throws {
        var random = SplitMix(seed: 11)
        let data = [[UInt8](repeating: 1, count: 70_000), [UInt8](repeating: 2, count: 5)]
        var encoded = encode(data, signed: true)
        encoded[encoded.count / 2] ^= 1
        await #expect { try await decode(cut(encoded, &random), signed: true) } throws: { ($0 as? S3Error)?.code == "SignatureDoesNotMatch" }
        // Signatures of another chain (a different seed) are refused from the first chunk on.
        let other = AwsChunkedBodyTests(seed: String(repeating: "cd", count: 32))
        let foreign = other.encode(data, signed: true)
        await #expect { try await decode(cut(foreign, &random), signed: true) } throws: { ($0 as? S3Error)?.code == "SignatureDoesNotMatch" }
        // Without signatures at all.
        await #expect { try await decode(cut(encode(data, signed: false), &random), signed: true) } throws: {
            ($0 as? S3Error)?.code == "SignatureDoesNotMatch"
        }
    }

    @Test func badFramingAndLengthsFailTheBody() async throws {
        var random = SplitMix(seed: 13)
        let data = [[UInt8](repeating: 3, count: 1000)]
        let good = encode(data, signed: false)
        let cases: [(String, [UInt8], Int64?)] = [
            ("cut short", Array(good.dropLast(10)), nil),
            ("no CRLF after the data", Array(good[..<1005]) + Array("AB".utf8) + Array(good[1007...]), nil),
            ("a size that is not hex", Array("zz\r\n".utf8) + good, nil),
            ("longer than declared", good, 999),
            ("shorter than declared", good, 1001),
            ("a header line without its end", Array(String(repeating: "1", count: 5000).utf8), nil),
        ]
        for (name, bytes, length) in cases {
            await #expect(throws: S3Error.self, "\(name)") { try await decode(cut(bytes, &random), signed: false, decodedLength: length) }
        }
        #expect(try await decode(cut(good, &random), signed: false, decodedLength: 1000).0 == data[0])
    }

    init() { seed = String(repeating: "ab", count: 32) }
    init(seed: String) { self.seed = seed }
}
