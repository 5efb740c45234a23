import Testing
import Crypto
@testable import TarnCore

/// The worked examples of AWS's "Signature Calculations for the Authorization Header"
/// (S3 API reference): key AKIAIOSFODNN7EXAMPLE, bucket examplebucket, 2013-05-24.
@Suite struct SigV4Tests {
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    let scope = SigV4.Scope(date: "20130524", region: "us-east-1", service: "s3")

    /// A kept signing key signs again and again with the same answer as a fresh one: signing
    /// copies its keyed state, never changes it.
    @Test func aSigningKeySignsManyTimesAsAFreshKeyDoes() {
        let derived = SigV4.signingKey(secret: secret, scope: scope)
        let kept = SigV4.SigningKey(derived)
        let texts = ["AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\nabc", "", "second text"]
        let first = texts.map { kept.sign($0) }
        #expect(texts.map { kept.sign($0) } == first)
        #expect(texts.map { SigV4.SigningKey(derived).sign($0) } == first)
        #expect(Set(first).count == texts.count)
        #expect(kept.bytes == derived.withUnsafeBytes { Array($0) })
    }

    @Test func getObjectWithRange() {
        let r = SigV4.Request(method: "GET", path: "/test.txt", query: [], headers: [
            "host": "examplebucket.s3.amazonaws.com", "range": "bytes=0-9",
            "x-amz-content-sha256": SigV4.emptySHA256, "x-amz-date": "20130524T000000Z",
        ])
        let signed = ["host", "range", "x-amz-content-sha256", "x-amz-date"]
        #expect(SigV4.signature(r, signedHeaders: signed, payloadHash: SigV4.emptySHA256, amzDate: "20130524T000000Z",
                                scope: scope, secret: secret) == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    /// The byte-built signature (what the gateway and the backend client use) gives AWS's
    /// worked example, and the string-built composition's answer for generated requests.
    @Test func theByteBuiltSignatureIsTheComposedOne() {
        let key = SigV4.SigningKey(SigV4.signingKey(secret: secret, scope: scope))
        let example = SigV4.Request(method: "GET", path: "/test.txt", query: [], headers: [
            "host": "examplebucket.s3.amazonaws.com", "range": "bytes=0-9",
            "x-amz-content-sha256": SigV4.emptySHA256, "x-amz-date": "20130524T000000Z",
        ])
        #expect(SigV4.signature(example, signedHeaders: ["host", "range", "x-amz-content-sha256", "x-amz-date"],
                                payloadHash: SigV4.emptySHA256, amzDate: "20130524T000000Z", scopeText: scope.text, key: key)
                == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        var random = SplitMix(seed: 42)
        let pieces = ["a", "Key with space", "~x", "ü", "%2F", "", "x=y&z", "  padded  "]
        for _ in 0..<500 {
            func piece() -> String { pieces[Int(random.next() % UInt64(pieces.count))] }
            let headers = Dictionary((0..<Int(random.next() % 4)).map { ("x-amz-meta-\($0)", piece()) }, uniquingKeysWith: { a, _ in a })
                .merging(["host": "h.example", "x-amz-date": "20130524T000000Z"]) { a, _ in a }
            let r = SigV4.Request(method: ["GET", "PUT", "HEAD", "POST"][Int(random.next() % 4)], path: "/b/" + piece() + "/" + piece(),
                                  query: (0..<Int(random.next() % 3)).map { _ in (piece(), piece()) }, headers: headers)
            let names = headers.keys.sorted()
            let payload = random.next() % 2 == 0 ? SigV4.unsignedPayload : SigV4.emptySHA256
            let composed = key.sign(SigV4.stringToSign(amzDate: "20130524T000000Z", scope: scope,
                                                       canonicalRequest: SigV4.canonicalRequest(r, signedHeaders: names, payloadHash: payload)))
            #expect(SigV4.signature(r, signedHeaders: names, payloadHash: payload, amzDate: "20130524T000000Z",
                                    scopeText: scope.text, key: key) == composed)
        }
    }

    @Test func putObjectWithSignedPayload() {
        let payloadHash = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
        let r = SigV4.Request(method: "PUT", path: "/test$file.text", query: [], headers: [
            "date": "Fri, 24 May 2013 00:00:00 GMT", "host": "examplebucket.s3.amazonaws.com",
            "x-amz-content-sha256": payloadHash, "x-amz-date": "20130524T000000Z", "x-amz-storage-class": "REDUCED_REDUNDANCY",
        ])
        let signed = ["date", "host", "x-amz-content-sha256", "x-amz-date", "x-amz-storage-class"]
        #expect(SigV4.signature(r, signedHeaders: signed, payloadHash: payloadHash, amzDate: "20130524T000000Z",
                                scope: scope, secret: secret) == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
    }

    @Test func getBucketLifecycleQueryWithoutValue() {
        let r = SigV4.Request(method: "GET", path: "/", query: [("lifecycle", "")], headers: [
            "host": "examplebucket.s3.amazonaws.com", "x-amz-content-sha256": SigV4.emptySHA256, "x-amz-date": "20130524T000000Z",
        ])
        #expect(SigV4.signature(r, signedHeaders: ["host", "x-amz-content-sha256", "x-amz-date"], payloadHash: SigV4.emptySHA256,
                                amzDate: "20130524T000000Z", scope: scope, secret: secret)
                == "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")
    }

    @Test func listObjectsQuery() {
        let r = SigV4.Request(method: "GET", path: "/", query: [("max-keys", "2"), ("prefix", "J")], headers: [
            "host": "examplebucket.s3.amazonaws.com", "x-amz-content-sha256": SigV4.emptySHA256, "x-amz-date": "20130524T000000Z",
        ])
        #expect(SigV4.signature(r, signedHeaders: ["host", "x-amz-content-sha256", "x-amz-date"], payloadHash: SigV4.emptySHA256,
                                amzDate: "20130524T000000Z", scope: scope, secret: secret)
                == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
    }

    @Test func presignedGet() {
        // Query-string authentication example: 86400 s expiry, only host signed.
        let r = SigV4.Request(method: "GET", path: "/test.txt", query: [
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"), ("X-Amz-Credential", "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"),
            ("X-Amz-Date", "20130524T000000Z"), ("X-Amz-Expires", "86400"), ("X-Amz-SignedHeaders", "host"),
        ], headers: ["host": "examplebucket.s3.amazonaws.com"])
        #expect(SigV4.signature(r, signedHeaders: ["host"], payloadHash: SigV4.unsignedPayload, amzDate: "20130524T000000Z",
                                scope: scope, secret: secret) == "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
    }

    @Test func uriEncodingFollowsAWS() {
        #expect(SigV4.uriEncode("a b/c~d*e+f", keepSlash: true) == "a%20b/c~d%2Ae%2Bf")
        #expect(SigV4.uriEncode("a/b", keepSlash: false) == "a%2Fb")
        #expect(SigV4.uriEncode("é", keepSlash: true) == "%C3%A9")
    }
}

/// AWS's worked examples of Signature Version 2 for S3 (the "johnsmith" bucket).
@Suite struct SigV2Tests {
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

    @Test func objectGet() {
        let s = SigV2.stringToSign(method: "GET", rawPath: "/johnsmith/photos/puppy.jpg", query: [],
                                   headers: ["date": "Tue, 27 Mar 2007 19:36:42 +0000"], dateOrExpires: "Tue, 27 Mar 2007 19:36:42 +0000")
        #expect(SigV2.signature(s, secret: secret) == "bWq2s1WEIj+Ydj0vQ697zp+IXMU=")
    }

    @Test func queryStringAuthentication() {
        let s = SigV2.stringToSign(method: "GET", rawPath: "/johnsmith/photos/puppy.jpg", query: [], headers: [:],
                                   dateOrExpires: "1175139620")
        #expect(SigV2.signature(s, secret: secret) == "NpgCjnDzrM+WFzoENXmpNDUsSn8=")
    }

    @Test func spacesAndTabsAreTrimmedAtBothEndsOnly() {
        #expect(" \t a b\t ".trimmingSpaces() == "a b")
        #expect("é x ".trimmingSpaces() == "é x")
        #expect("  ".trimmingSpaces() == "")
        #expect(Substring("=x=").trimmingSpaces() == "=x=")
    }

    @Test func hexIsLowerCaseUnlessAnyCaseIsAsked() {
        #expect(ContentHash.isHex("09af") && !ContentHash.isHex("09AF") && ContentHash.isHex("09AF", anyCase: true))
        #expect(!ContentHash.isHex("") && !ContentHash.isHex("0g", anyCase: true) && !ContentHash.isHex("0\u{10}", anyCase: true))
    }
}

@Suite struct SigningKeyTests {
    @Test func hmacMatchesSwiftCrypto() {
        // Keys shorter than, as long as and longer than SHA-256's 64-byte block; texts across block edges.
        for keyLength in [0, 1, 32, 63, 64, 65, 200] {
            let key = SymmetricKey(data: (0..<keyLength).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) })
            let signer = SigV4.SigningKey(key)
            for textLength in [0, 1, 55, 56, 63, 64, 65, 119, 120, 300, 1_000] {
                let text = String((0..<textLength).map { Character(Unicode.Scalar(UInt8(33 + ($0 * 7) % 90))) })
                let expected = ContentHash.hex(HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: key))
                #expect(signer.sign(text) == expected, "key \(keyLength) text \(textLength)")
            }
        }
    }
}
