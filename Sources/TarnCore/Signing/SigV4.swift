import Crypto

/// AWS Signature Version 4, the one implementation Tarn has: the S3 gateway verifies requests
/// with it, and the benchmark (later the S3 backing store and the CLI) signs with it.
/// Everything here works on already-decoded values (path, query items) and re-encodes them
/// the way AWS specifies, so clients that encode differently (`~`, `+`, `%2F`) still match.
public enum SigV4 {
    public static let algorithm = "AWS4-HMAC-SHA256"
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    public static let emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// `<date>/<region>/<service>/aws4_request`.
    public struct Scope: Sendable, Equatable {
        public var date: String
        public var region: String
        public var service: String

        public init(date: String, region: String, service: String) {
            self.date = date
            self.region = region
            self.service = service
        }

        public var text: String { "\(date)/\(region)/\(service)/aws4_request" }
    }

    /// A request as SigV4 sees it.
    public struct Request: Sendable {
        public var method: String
        /// The decoded absolute path (`/bucket/key with space`).
        public var path: String
        /// Decoded query items, in any order; repeated names allowed.
        public var query: [(name: String, value: String)]
        /// Header names lower-cased; a repeated header's values joined with ",".
        public var headers: [String: String]

        public init(method: String, path: String, query: [(name: String, value: String)], headers: [String: String]) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
        }
    }

    /// AWS's URI encoding: every byte but `A-Z a-z 0-9 - _ . ~` as `%XX` (upper-case hex);
    /// `/` kept when `keepSlash` (paths), encoded otherwise (query names and values).
    public static func uriEncode(_ s: String, keepSlash: Bool) -> String {
        var out = [UInt8]()
        out.reserveCapacity(s.utf8.count)
        appendURIEncoded(s, keepSlash: keepSlash, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private static let upperHex: [UInt8] = Array("0123456789ABCDEF".utf8)

    static func appendURIEncoded(_ s: String, keepSlash: Bool, to out: inout [UInt8]) {
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.append(b)
            case UInt8(ascii: "/") where keepSlash:
                out.append(b)
            default:
                out.append(UInt8(ascii: "%"))
                out.append(upperHex[Int(b >> 4)])
                out.append(upperHex[Int(b & 0xF)])
            }
        }
    }

    public static func canonicalQuery(_ items: [(name: String, value: String)]) -> String {
        if items.isEmpty { return "" }
        return items.map { (uriEncode($0.name, keepSlash: false), uriEncode($0.value, keepSlash: false)) }
            .sorted { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    /// Trims a header value and folds runs of spaces into one, as the canonical form wants.
    static func canonicalHeaderValue(_ v: String) -> String {
        // Almost every value is already canonical: check that in one pass over the bytes.
        var previous: UInt8 = UInt8(ascii: " ")
        var canonical = true
        for b in v.utf8 {
            if b == UInt8(ascii: "\t") || (b == UInt8(ascii: " ") && previous == UInt8(ascii: " ")) { canonical = false; break }
            previous = b
        }
        if canonical && previous != UInt8(ascii: " ") || v.isEmpty { return v }
        var out = ""
        var lastSpace = false
        for ch in v.trimmingSpaces() {
            if ch == " " || ch == "\t" {
                if !lastSpace { out.append(" ") }
                lastSpace = true
            } else {
                out.append(ch)
                lastSpace = false
            }
        }
        return out
    }

    /// Built as bytes in one buffer: joining strings per part and per header was most of
    /// the cost of checking a request's signature (and of signing each backend request).
    public static func canonicalRequest(_ r: Request, signedHeaders: [String], payloadHash: String) -> String {
        String(decoding: canonicalRequestBytes(r, signedHeaders: signedHeaders, payloadHash: payloadHash), as: UTF8.self)
    }

    static func canonicalRequestBytes(_ r: Request, signedHeaders: [String], payloadHash: String) -> [UInt8] {
        let newline = UInt8(ascii: "\n")
        var out = [UInt8]()
        out.reserveCapacity(512)
        out += r.method.utf8
        out.append(newline)
        appendURIEncoded(r.path, keepSlash: true, to: &out)
        out.append(newline)
        out += canonicalQuery(r.query).utf8
        out.append(newline)
        for name in signedHeaders {
            out += name.utf8
            out.append(UInt8(ascii: ":"))
            out += canonicalHeaderValue(r.headers[name] ?? "").utf8
            out.append(newline)
        }
        out.append(newline)
        for (i, name) in signedHeaders.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ";")) }
            out += name.utf8
        }
        out.append(newline)
        out += payloadHash.utf8
        return out
    }

    /// The signature of `r` under `key`, as hex: what `key.sign(stringToSign(…,
    /// canonicalRequest(…)))` gives, built as bytes with no string between the steps
    /// (those strings were a fifth of the allocations of a forwarded GET, made twice: once
    /// checking the client's signature, once signing the backend request).
    public static func signature(_ r: Request, signedHeaders: [String], payloadHash: String, amzDate: String,
                                 scopeText: String, key: SigningKey) -> String {
        let digest = canonicalRequestBytes(r, signedHeaders: signedHeaders, payloadHash: payloadHash).withUnsafeBytes {
            var hasher = SHA256()
            hasher.update(bufferPointer: $0)
            return hasher.finalize()
        }
        var text = [UInt8]()
        text.reserveCapacity(algorithm.utf8.count + amzDate.utf8.count + scopeText.utf8.count + 67)
        text += algorithm.utf8
        text.append(UInt8(ascii: "\n"))
        text += amzDate.utf8
        text.append(UInt8(ascii: "\n"))
        text += scopeText.utf8
        text.append(UInt8(ascii: "\n"))
        ContentHash.appendHex(digest, to: &text)
        return ContentHash.hex(text.withUnsafeBytes { key.code($0) })
    }

    public static func stringToSign(amzDate: String, scope: Scope, canonicalRequest: String) -> String {
        var canonical = canonicalRequest
        // SHA256 itself, not the generic `hash(data:)`: see `SigningKey`.
        var hasher = SHA256()
        canonical.withUTF8 { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        let digest = hasher.finalize()
        return algorithm + "\n" + amzDate + "\n" + scope.text + "\n" + ContentHash.hex(digest)
    }

    public static func signingKey(secret: String, scope: Scope) -> SymmetricKey {
        var key = SymmetricKey(data: Array(("AWS4" + secret).utf8))
        for part in [scope.date, scope.region, scope.service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        return key
    }

    /// Hex HMAC-SHA256 of `text` under `key`, keyed for this one signature (`SigningKey` keeps
    /// the keyed state for many).
    public static func sign(_ text: String, key: SymmetricKey) -> String {
        var text = text
        return ContentHash.hex(text.withUTF8 { HMAC<SHA256>.authenticationCode(for: UnsafeRawBufferPointer($0), using: key) })
    }

    /// A signing key with HMAC's padded key blocks already hashed: keying an HMAC was half the
    /// cost of a signature. Keep one per derived key and sign with it many times.
    ///
    /// HMAC (RFC 2104) is spelled out over `SHA256` rather than taken from swift-crypto's
    /// `HMAC<SHA256>`: that type is generic and not specialised across the module boundary, and
    /// its calls through witness tables and generic metadata cost five times the hashing itself
    /// on a signed GET. `hmacMatchesSwiftCrypto` holds the two to the same codes.
    public final class SigningKey: @unchecked Sendable {
        // Never mutated: `sign` copies them, and a copied hasher copies its state on write.
        private let inner: SHA256
        private let outer: SHA256
        public let bytes: [UInt8]

        public init(_ key: SymmetricKey) {
            bytes = key.withUnsafeBytes { Array($0) }
            var block = bytes.count > 64 ? Array(SHA256.hash(data: bytes)) : bytes
            block += repeatElement(0, count: 64 - block.count)
            var inner = SHA256(), outer = SHA256()
            inner.update(data: block.map { $0 ^ 0x36 })
            outer.update(data: block.map { $0 ^ 0x5c })
            self.inner = inner
            self.outer = outer
        }

        /// HMAC-SHA256 of `text`, as hex.
        public func sign(_ text: String) -> String {
            var text = text
            return ContentHash.hex(text.withUTF8 { code(UnsafeRawBufferPointer($0)) })
        }

        /// HMAC-SHA256 of `bytes`.
        public func code(_ bytes: UnsafeRawBufferPointer) -> SHA256.Digest {
            var hasher = inner
            hasher.update(bufferPointer: bytes)
            let innerDigest = hasher.finalize()
            var outerHasher = outer
            innerDigest.withUnsafeBytes { outerHasher.update(bufferPointer: $0) }
            return outerHasher.finalize()
        }
    }

    /// The signature of a request: what a client sends and a server recomputes (the key
    /// derived here; the byte-built `signature(_:…:scopeText:key:)` does the rest).
    public static func signature(_ r: Request, signedHeaders: [String], payloadHash: String, amzDate: String,
                                 scope: Scope, secret: String) -> String {
        signature(r, signedHeaders: signedHeaders, payloadHash: payloadHash, amzDate: amzDate,
                  scopeText: scope.text, key: SigningKey(signingKey(secret: secret, scope: scope)))
    }

    /// Compares two signatures without an early exit.
    public static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var diff = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<Swift.min(x.count, y.count) { diff |= x[i] ^ y[i] }
        return diff == 0
    }

    /// The `Authorization` header value a client sends for `r` (headers must already hold
    /// `host`, `x-amz-date` and `x-amz-content-sha256`; all headers given are signed).
    public static func authorization(_ r: Request, accessKeyID: String, secret: String, scope: Scope, amzDate: String) -> String {
        let signed = r.headers.keys.sorted()
        let payload = r.headers["x-amz-content-sha256"] ?? unsignedPayload
        let sig = signature(r, signedHeaders: signed, payloadHash: payload, amzDate: amzDate, scope: scope, secret: secret)
        return "\(algorithm) Credential=\(accessKeyID)/\(scope.text), SignedHeaders=\(signed.joined(separator: ";")), Signature=\(sig)"
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs. Scanned on the UTF-8 bytes (both are
    /// ASCII, so the bounds fall between characters): it runs on every signed request, and is
    /// inlinable so other modules get it specialised for their string type.
    @inlinable
    public func trimmingSpaces() -> SubSequence {
        let bytes = utf8
        func blank(_ b: UInt8) -> Bool { b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") }
        var start = bytes.startIndex
        while start < bytes.endIndex, blank(bytes[start]) { bytes.formIndex(after: &start) }
        // Forward to the end (a generic UTF8View cannot step back): `end` follows the last non-blank byte.
        var end = start, i = start
        while i < bytes.endIndex {
            let b = bytes[i]
            bytes.formIndex(after: &i)
            if !blank(b) { end = i }
        }
        return self[start..<end]
    }
}
