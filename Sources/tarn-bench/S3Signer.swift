import Crypto
import Foundation
import TarnCore

/// Signs benchmark requests with Tarn's own SigV4 code (the gateway verifies with the same),
/// deriving the signing key once: each request costs the client one SHA-256 and one HMAC, so
/// the signing cost stays small beside the server's.
struct S3Signer {
    let accessKeyID: String
    let amzDate: String
    let scope: SigV4.Scope
    let key: SymmetricKey

    init(accessKeyID: String, secret: String, region: String = "us-east-1", now: Date = Date()) {
        var t = time_t(now.timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&t, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let day = "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))"
        self.accessKeyID = accessKeyID
        amzDate = "\(day)T\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))Z"
        scope = SigV4.Scope(date: day, region: region, service: "s3")
        key = SigV4.signingKey(secret: secret, scope: scope)
    }

    /// The header lines (each ending in CRLF) that authenticate `method path?query`, whose
    /// body hashes to `payloadHash` (hex SHA-256, or `UNSIGNED-PAYLOAD`). The path is decoded.
    func headers(_ method: String, _ path: String, query: [(name: String, value: String)] = [],
                 payloadHash: String = SigV4.emptySHA256) -> String {
        let signed = ["host": "127.0.0.1", "x-amz-content-sha256": payloadHash, "x-amz-date": amzDate]
        let request = SigV4.Request(method: method, path: path, query: query, headers: signed)
        let names = signed.keys.sorted()
        let canonical = SigV4.canonicalRequest(request, signedHeaders: names, payloadHash: payloadHash)
        let signature = SigV4.sign(SigV4.stringToSign(amzDate: amzDate, scope: scope, canonicalRequest: canonical), key: key)
        return "Authorization: \(SigV4.algorithm) Credential=\(accessKeyID)/\(scope.text), SignedHeaders=\(names.joined(separator: ";")), "
            + "Signature=\(signature)\r\nx-amz-date: \(amzDate)\r\nx-amz-content-sha256: \(payloadHash)\r\n"
    }

    /// The request target for a decoded path and query, encoded the way SigV4 expects.
    static func target(_ path: String, query: [(name: String, value: String)] = []) -> String {
        let p = SigV4.uriEncode(path, keepSlash: true)
        return query.isEmpty ? p : p + "?" + SigV4.canonicalQuery(query)
    }
}
