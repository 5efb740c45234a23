import Crypto
import Foundation

/// Login sessions as JSON Web Tokens (RFC 7519), signed with HMAC-SHA256 under a key derived
/// from the server key. A token names its user (`sub`) and expires (`exp`); nothing about it is
/// stored, so it survives restarts and is void once its user is deleted (the authenticator
/// checks the user still exists).
struct SessionTokens: Sendable {
    /// lakeFS's default login lifetime: one week.
    static let lifetime: Int64 = 7 * 24 * 3600

    private let keyBytes: [UInt8]
    private var key: SymmetricKey { SymmetricKey(data: keyBytes) }

    init(serverKey: SymmetricKey) {
        // A key of its own (HMAC of a label under the server key), so a token MAC never doubles
        // as anything sealed with the server key. Not HKDF: swift-crypto 3.12.3 HKDF.deriveKey
        // corrupted the heap in release builds here (glibc malloc check caught it in extract).
        let derived = HMAC<SHA256>.authenticationCode(for: Data("tarn session tokens v1".utf8), using: serverKey)
        keyBytes = Array(derived)
    }

    private struct Header: Codable { var alg: String; var typ: String? }
    private struct Claims: Codable { var sub: String; var iat: Int64; var exp: Int64; var aud: String? }

    /// A signed token for `user`, valid from `now` for `lifetime` seconds, with its expiry.
    func issue(user: String, now: Int64, lifetime: Int64 = SessionTokens.lifetime) -> (token: String, expiresAt: Int64) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let header = try! encoder.encode(Header(alg: "HS256", typ: "JWT"))
        let claims = try! encoder.encode(Claims(sub: user, iat: now, exp: now + lifetime, aud: "login"))
        let signingInput = Self.base64URL(header) + "." + Self.base64URL(claims)
        let mac = HMAC<SHA256>.authenticationCode(for: Data(signingInput.utf8), using: key)
        return (signingInput + "." + Self.base64URL(Data(mac)), now + lifetime)
    }

    /// The user a token was issued to, if its signature is ours, its algorithm HS256 and it
    /// has not expired at `now`.
    func verify(_ token: String, now: Int64) -> String? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3,
              let headerData = Self.decodeBase64URL(parts[0]), let claimsData = Self.decodeBase64URL(parts[1]),
              let mac = Self.decodeBase64URL(parts[2]),
              let header = try? JSONDecoder().decode(Header.self, from: headerData), header.alg == "HS256",
              HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Data("\(parts[0]).\(parts[1])".utf8), using: key),
              let claims = try? JSONDecoder().decode(Claims.self, from: claimsData), claims.exp > now
        else { return nil }
        return claims.sub
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decodeBase64URL(_ text: Substring) -> Data? {
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        s += String(repeating: "=", count: (4 - s.count % 4) % 4)
        return Data(base64Encoded: s)
    }
}
