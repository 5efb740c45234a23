import Crypto
import Foundation
import TarnCore

/// Why an S3 request was not authenticated; the gateway maps each to its S3 error code.
public enum S3AuthError: Error, Sendable, Equatable {
    case missing
    case malformed(String)
    case unsupportedAlgorithm(String)
    case invalidAccessKeyID(String)
    case signatureDoesNotMatch
    case requestTimeTooSkewed
    case expired
}

/// An S3 request that passed its signature check, with what the body checks need next.
public struct S3Principal: Sendable {
    public var user: User
    public var accessKeyID: String
    /// The payload hash the signature covers: a hex SHA-256 to verify, `UNSIGNED-PAYLOAD`, or
    /// one of the `STREAMING-*` markers of an aws-chunked body.
    public var payloadHash: String
    public var scope: SigV4.Scope
    public var amzDate: String
    /// The request's signature: an aws-chunked body chains its chunk signatures from it.
    public var seedSignature: String
    public var signingKeyBytes: [UInt8]
}

extension Authenticator {
    /// Requests may be signed up to 15 minutes before or after the server's clock (as S3).
    public static let maxClockSkew: TimeInterval = 15 * 60
    /// Presigned URLs live at most 7 days (as S3).
    public static let maxPresignedLifetime = 7 * 24 * 3600

    /// Verifies a SigV4 request, signed in its `Authorization` header or presigned in its query.
    public func verifySigV4(_ r: SigV4.Request, now: Date = Date()) throws(S3AuthError) -> S3Principal {
        if let header = r.headers["authorization"] {
            return try verifyHeader(header, r, now: now)
        }
        if r.query.contains(where: { $0.name == "X-Amz-Signature" }) {
            return try verifyPresigned(r, now: now)
        }
        throw .missing
    }

    private func verifyHeader(_ header: String, _ r: SigV4.Request, now: Date) throws(S3AuthError) -> S3Principal {
        guard header.hasPrefix(SigV4.algorithm + " ") else {
            throw .unsupportedAlgorithm(String(header.prefix(while: { $0 != " " })))
        }
        // `Credential=…, SignedHeaders=…, Signature=…`, scanned as bytes in place: this runs on
        // every request, and splitting into collections took a tenth of the check.
        var credential: String?, signedHeaders: [String]?, given: String?
        var text = header
        text.withUTF8 { b in
            Self.forEachPiece(of: b, in: (SigV4.algorithm.utf8.count + 1)..<b.count, separatedBy: UInt8(ascii: ","), trimmed: true) { field in
                guard let eq = b[field].firstIndex(of: UInt8(ascii: "=")) else { return }
                let name = UnsafeBufferPointer(rebasing: b[field.lowerBound..<eq]), value = (eq + 1)..<field.upperBound
                if name.elementsEqual("Credential".utf8) {
                    credential = String(decoding: b[value], as: UTF8.self)
                } else if name.elementsEqual("SignedHeaders".utf8) {
                    signedHeaders = Self.signedHeaderNames(b, value)
                } else if name.elementsEqual("Signature".utf8) {
                    given = String(decoding: b[value], as: UTF8.self)
                }
            }
        }
        guard let credential, let signedHeaders, let given else {
            throw .malformed("Authorization header lacks Credential, SignedHeaders or Signature")
        }
        guard let amzDate = r.headers["x-amz-date"] ?? r.headers["date"].flatMap(Self.amzDate(fromHTTPDate:)) else {
            throw .malformed("no x-amz-date")
        }
        try Self.checkSkew(amzDate, now: now)
        let payload = r.headers["x-amz-content-sha256"] ?? SigV4.unsignedPayload
        return try check(r, credential: credential, signedHeaders: signedHeaders,
                         signature: given, amzDate: amzDate, payloadHash: payload, query: r.query)
    }

    /// Calls `body` with the range of each piece of `b[range]` between `separator`s, empty
    /// pieces left out; `trimmed` takes spaces and tabs off each end first.
    private static func forEachPiece(of b: UnsafeBufferPointer<UInt8>, in range: Range<Int>, separatedBy separator: UInt8, trimmed: Bool,
                                     _ body: (Range<Int>) -> Void) {
        func blank(_ c: UInt8) -> Bool { trimmed && (c == UInt8(ascii: " ") || c == UInt8(ascii: "\t")) }
        var start = range.lowerBound
        while start <= range.upperBound {
            var end = start
            while end < range.upperBound, b[end] != separator { end += 1 }
            var lo = start, hi = end
            while lo < hi, blank(b[lo]) { lo += 1 }
            while hi > lo, blank(b[hi - 1]) { hi -= 1 }
            if lo < hi { body(lo..<hi) }
            start = end + 1
        }
    }

    /// `host;x-amz-date` → its names.
    private static func signedHeaderNames(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> [String] {
        var names: [String] = []
        forEachPiece(of: b, in: range, separatedBy: UInt8(ascii: ";"), trimmed: false) { names.append(String(decoding: b[$0], as: UTF8.self)) }
        return names
    }

    private static func signedHeaderNames(_ list: String) -> [String] {
        var list = list
        return list.withUTF8 { signedHeaderNames($0, 0..<$0.count) }
    }

    private func verifyPresigned(_ r: SigV4.Request, now: Date) throws(S3AuthError) -> S3Principal {
        func q(_ name: String) -> String? { r.query.first(where: { $0.name == name })?.value }
        guard let algorithm = q("X-Amz-Algorithm"), algorithm == SigV4.algorithm else {
            throw .unsupportedAlgorithm(q("X-Amz-Algorithm") ?? "")
        }
        guard let credential = q("X-Amz-Credential"), let amzDate = q("X-Amz-Date"), let signed = q("X-Amz-SignedHeaders"),
              let given = q("X-Amz-Signature"), let expiresText = q("X-Amz-Expires"), let expires = Int(expiresText),
              (1...Self.maxPresignedLifetime).contains(expires)
        else { throw .malformed("presigned URL lacks or misstates X-Amz-Credential, -Date, -SignedHeaders, -Signature or -Expires") }
        guard let signedAt = Self.date(fromAmzDate: amzDate) else { throw .malformed("bad X-Amz-Date") }
        if now.timeIntervalSince(signedAt) > TimeInterval(expires) { throw .expired }
        if signedAt.timeIntervalSince(now) > Self.maxClockSkew { throw .requestTimeTooSkewed }
        let query = r.query.filter { $0.name != "X-Amz-Signature" }
        let payload = r.headers["x-amz-content-sha256"] ?? SigV4.unsignedPayload
        return try check(r, credential: credential, signedHeaders: Self.signedHeaderNames(signed),
                         signature: given, amzDate: amzDate, payloadHash: payload, query: query)
    }

    private func check(_ r: SigV4.Request, credential: String, signedHeaders: [String], signature given: String,
                       amzDate: String, payloadHash: String, query: [(name: String, value: String)]) throws(S3AuthError) -> S3Principal {
        var parts: [String] = []
        var text = credential
        text.withUTF8 { b in
            var start = 0
            for i in 0...b.count where i == b.count || b[i] == UInt8(ascii: "/") {
                parts.append(String(decoding: b[start..<i], as: UTF8.self))
                start = i + 1
            }
        }
        guard parts.count == 5, parts[4] == "aws4_request" else { throw .malformed("bad credential scope \(credential)") }
        let keyID = parts[0]
        let scope = SigV4.Scope(date: parts[1], region: parts[2], service: parts[3])
        guard amzDate.hasPrefix(scope.date) else { throw .malformed("credential date does not match x-amz-date") }
        guard let (user, secret) = openedSecrets.lookup(keyID, load: { try? self.secret(accessKeyID: keyID) }) else {
            throw .invalidAccessKeyID(keyID)
        }
        var request = r
        request.query = query
        // The signing key changes once a day per access key: derive it once, not per request.
        let scopeText = scope.text
        let key = openedSecrets.signingKey(keyID, scope: scopeText) {
            SigV4.SigningKey(SigV4.signingKey(secret: secret, scope: scope))
        }
        let expected = SigV4.signature(request, signedHeaders: signedHeaders, payloadHash: payloadHash, amzDate: amzDate,
                                       scopeText: scopeText, key: key)
        guard SigV4.constantTimeEqual(expected, given) else { throw .signatureDoesNotMatch }
        return S3Principal(user: user, accessKeyID: keyID, payloadHash: payloadHash, scope: scope, amzDate: amzDate,
                           seedSignature: expected, signingKeyBytes: key.bytes)
    }

    static func checkSkew(_ amzDate: String, now: Date) throws(S3AuthError) {
        guard let signedAt = date(fromAmzDate: amzDate) else { throw .malformed("bad x-amz-date \(amzDate)") }
        if abs(now.timeIntervalSince(signedAt)) > maxClockSkew { throw .requestTimeTooSkewed }
    }

    /// `20130524T000000Z` → a date (arithmetic, no Calendar: this runs on every request).
    static func date(fromAmzDate s: String) -> Date? {
        let b = Array(s.utf8)
        guard b.count == 16, b[8] == UInt8(ascii: "T"), b[15] == UInt8(ascii: "Z") else { return nil }
        func num(_ r: Range<Int>) -> Int? {
            var n = 0
            for c in b[r] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) else { return nil }
                n = n * 10 + Int(c - UInt8(ascii: "0"))
            }
            return n
        }
        guard let y = num(0..<4), let mo = num(4..<6), let d = num(6..<8), let h = num(9..<11), let mi = num(11..<13),
              let se = num(13..<15), (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, se < 61 else { return nil }
        // Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
        let yy = mo <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return Date(timeIntervalSince1970: TimeInterval(days * 86_400 + h * 3600 + mi * 60 + se))
    }

    /// An RFC 1123 `Date` header (`Fri, 24 May 2013 00:00:00 GMT`) as `20130524T000000Z`.
    static func amzDate(fromHTTPDate s: String) -> String? {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let d = f.date(from: s) else { return nil }
        f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: d)
    }
}

extension Authenticator {
    /// Verifies a SigV2 request: `Authorization: AWS <key>:<signature>`, or a presigned query
    /// (`AWSAccessKeyId`, `Expires`, `Signature`). Its payload is unsigned.
    public func verifySigV2(_ r: SigV4.Request, rawPath: String, now: Date = Date()) throws(S3AuthError) -> S3Principal {
        let keyID: String, given: String, dateOrExpires: String
        var query = r.query
        if let header = r.headers["authorization"] {
            guard header.hasPrefix("AWS "), let colon = header.lastIndex(of: ":") else { throw .malformed("bad AWS authorization header") }
            keyID = String(header[header.index(header.startIndex, offsetBy: 4)..<colon])
            given = String(header[header.index(after: colon)...])
            if let amz = r.headers["x-amz-date"] {
                guard let d = Self.httpDate(amz) else { throw .malformed("bad x-amz-date") }
                if abs(now.timeIntervalSince(d)) > Self.maxClockSkew { throw .requestTimeTooSkewed }
                dateOrExpires = ""
            } else {
                guard let date = r.headers["date"], let d = Self.httpDate(date) else { throw .malformed("no Date header") }
                if abs(now.timeIntervalSince(d)) > Self.maxClockSkew { throw .requestTimeTooSkewed }
                dateOrExpires = date
            }
        } else {
            func q(_ n: String) -> String? { r.query.first(where: { $0.name == n })?.value }
            guard let k = q("AWSAccessKeyId"), let s = q("Signature"), let e = q("Expires"), let expires = Double(e) else {
                throw .missing
            }
            if now.timeIntervalSince1970 > expires { throw .expired }
            (keyID, given, dateOrExpires) = (k, s, e)
            query = query.filter { !["AWSAccessKeyId", "Signature", "Expires"].contains($0.name) }
        }
        guard let (user, secret) = openedSecrets.lookup(keyID, load: { try? self.secret(accessKeyID: keyID) }) else {
            throw .invalidAccessKeyID(keyID)
        }
        let toSign = SigV2.stringToSign(method: r.method, rawPath: rawPath, query: query, headers: r.headers, dateOrExpires: dateOrExpires)
        guard SigV4.constantTimeEqual(SigV2.signature(toSign, secret: secret), given) else { throw .signatureDoesNotMatch }
        return S3Principal(user: user, accessKeyID: keyID, payloadHash: SigV4.unsignedPayload,
                           scope: SigV4.Scope(date: "", region: "", service: "s3"), amzDate: "", seedSignature: "", signingKeyBytes: [])
    }

    static func httpDate(_ s: String) -> Date? {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEE, dd MMM yyyy HH:mm:ss Z"] {
            f.dateFormat = format
            if let d = f.date(from: s) { return d }
        }
        return nil
    }
}
