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
        let hex: [UInt8] = Array("0123456789ABCDEF".utf8)
        var out = [UInt8]()
        out.reserveCapacity(s.utf8.count)
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.append(b)
            case UInt8(ascii: "/") where keepSlash:
                out.append(b)
            default:
                out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 0xF)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func canonicalQuery(_ items: [(name: String, value: String)]) -> String {
        items.map { (uriEncode($0.name, keepSlash: false), uriEncode($0.value, keepSlash: false)) }
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

    public static func canonicalRequest(_ r: Request, signedHeaders: [String], payloadHash: String) -> String {
        let headerLines = signedHeaders.map { "\($0):\(canonicalHeaderValue(r.headers[$0] ?? ""))\n" }.joined()
        return [r.method, uriEncode(r.path, keepSlash: true), canonicalQuery(r.query), headerLines,
                signedHeaders.joined(separator: ";"), payloadHash].joined(separator: "\n")
    }

    public static func stringToSign(amzDate: String, scope: Scope, canonicalRequest: String) -> String {
        [algorithm, amzDate, scope.text, ContentHash.sha256Hex(Array(canonicalRequest.utf8))].joined(separator: "\n")
    }

    public static func signingKey(secret: String, scope: Scope) -> SymmetricKey {
        var key = SymmetricKey(data: Array(("AWS4" + secret).utf8))
        for part in [scope.date, scope.region, scope.service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        return key
    }

    /// Hex HMAC-SHA256 of `text` under `key`.
    public static func sign(_ text: String, key: SymmetricKey) -> String {
        ContentHash.hex(HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: key))
    }

    /// The signature of a request: what a client sends and a server recomputes.
    public static func signature(_ r: Request, signedHeaders: [String], payloadHash: String, amzDate: String,
                                 scope: Scope, secret: String) -> String {
        let canonical = canonicalRequest(r, signedHeaders: signedHeaders, payloadHash: payloadHash)
        return sign(stringToSign(amzDate: amzDate, scope: scope, canonicalRequest: canonical), key: signingKey(secret: secret, scope: scope))
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
    /// Without leading and trailing spaces and tabs.
    public func trimmingSpaces() -> SubSequence {
        func blank(_ c: Character) -> Bool { c == " " || c == "\t" }
        var start = startIndex, end = endIndex
        while start < end, blank(self[start]) { formIndex(after: &start) }
        while end > start, blank(self[index(before: end)]) { formIndex(before: &end) }
        return self[start..<end]
    }
}
