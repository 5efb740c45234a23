import Crypto
import Foundation
import TarnCore
import TarnMetadata

/// A principal the API acts for.
public struct User: Sendable, Hashable {
    public var id: String

    public init(id: String) { self.id = id }
}

/// An access key pair, with its secret in clear: only ever shown to the person who creates it.
public struct AccessKey: Sendable, Hashable {
    public var accessKeyID: String
    public var secretAccessKey: String

    public init(accessKeyID: String, secretAccessKey: String) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
    }
}

/// Users' access keys and request authentication. Secrets are sealed with AES-GCM under the
/// server's 256-bit key before they reach the database, so a copy of the database alone does
/// not reveal them.
public final class Authenticator: Sendable {
    let store: SQLiteStore
    /// The server key's bytes (SymmetricKey is not Sendable).
    private let keyBytes: [UInt8]
    private var key: SymmetricKey { SymmetricKey(data: keyBytes) }
    private let tokens: SessionTokens
    /// Opened secrets of recently used access keys: every request authenticates, and a
    /// database read plus an AES-GCM open each time cost a tenth of a `stat`.
    let openedSecrets = SecretCache()

    public init(store: SQLiteStore, serverKey: SymmetricKey) {
        self.store = store
        keyBytes = serverKey.withUnsafeBytes { Array($0) }
        tokens = SessionTokens(serverKey: serverKey)
    }

    /// The server key kept in `file` (created with mode 0600 on first use).
    public static func loadOrCreateKey(file: URL) throws -> SymmetricKey {
        if let data = try? Data(contentsOf: file) {
            guard data.count == 32 else { throw EngineError.invalidArgument("server key \(file.path) is not 32 bytes") }
            return SymmetricKey(data: data)
        }
        let key = SymmetricKey(size: .bits256)
        let bytes = key.withUnsafeBytes { Data($0) }
        guard FileManager.default.createFile(atPath: file.path, contents: bytes, attributes: [.posixPermissions: 0o600]) else {
            throw EngineError.storage("cannot write server key \(file.path)")
        }
        return key
    }

    /// Creates `user` with the given key pair, or a fresh random one.
    public func createAccessKey(user: String, fixed: AccessKey? = nil) throws -> AccessKey {
        let pair = fixed ?? AccessKey(accessKeyID: "AKIA" + Self.random(16, alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"),
                                      secretAccessKey: Self.random(40, alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"))
        let sealed = try AES.GCM.seal(Data(pair.secretAccessKey.utf8), using: key).combined!
        try store.insertCredential(user: user, accessKeyID: pair.accessKeyID, sealedSecret: Array(sealed),
                                   createdAt: Int64(Date().timeIntervalSince1970))
        return pair
    }

    /// The secret of an access key (for signature checks and for showing the quickstart
    /// admin its own key again).
    public func secret(accessKeyID: String) throws -> (user: User, secret: String)? {
        guard let (user, sealed) = try store.credential(accessKeyID: accessKeyID) else { return nil }
        let opened = try AES.GCM.open(AES.GCM.SealedBox(combined: Data(sealed)), using: key)
        return (User(id: user), String(decoding: opened, as: UTF8.self))
    }

    /// The user of an `Authorization` header value (HTTP Basic with an access key, or Bearer
    /// with a session token), or nil.
    public func authenticate(authorization header: String) -> User? {
        if header.hasPrefix("Bearer ") { return authenticateToken(String(header.dropFirst(7))) }
        return authenticateBasic(header)
    }

    /// The user of an HTTP Basic `Authorization` header value, or nil.
    public func authenticateBasic(_ header: String) -> User? {
        guard header.hasPrefix("Basic "), let decoded = Data(base64Encoded: String(header.dropFirst(6))) else { return nil }
        let text = String(decoding: decoded, as: UTF8.self)
        guard let colon = text.firstIndex(of: ":") else { return nil }
        return authenticateKey(accessKeyID: String(text[..<colon]), secret: String(text[text.index(after: colon)...]))
    }

    /// The user of a session token (from `login`), if it is valid and its user still exists.
    public func authenticateToken(_ token: String) -> User? {
        guard let id = tokens.verify(token, now: Self.now()), (try? store.userCreatedAt(id)) != nil else { return nil }
        return User(id: id)
    }

    /// `POST /auth/login`: a session token and its expiry for a valid key pair, or nil.
    public func login(accessKeyID: String, secret: String) -> (token: String, expiresAt: Int64)? {
        guard let user = authenticateKey(accessKeyID: accessKeyID, secret: secret) else { return nil }
        return tokens.issue(user: user.id, now: Self.now())
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970) }

    /// The user of an access key pair, or nil.
    func authenticateKey(accessKeyID id: String, secret given: String) -> User? {
        guard let (user, secret) = openedSecrets.lookup(id, load: { try? secret(accessKeyID: id) }) else { return nil }
        // Compare without an early exit, so timing does not reveal how much matched.
        return SigV4.constantTimeEqual(secret, given) ? user : nil
    }

    /// The quickstart admin: `admin` with the given keys, or with its first existing key, or
    /// with a fresh one.
    public func ensureAdmin(fixed: AccessKey?) throws -> AccessKey {
        if let fixed {
            if let existing = try secret(accessKeyID: fixed.accessKeyID) {
                guard existing.secret == fixed.secretAccessKey else {
                    throw EngineError.invalidArgument("access key \(fixed.accessKeyID) exists with another secret")
                }
                return fixed
            }
            return try createAccessKey(user: "admin", fixed: fixed)
        }
        if let first = try store.accessKeys(user: "admin").first, let existing = try secret(accessKeyID: first) {
            return AccessKey(accessKeyID: first, secretAccessKey: existing.secret)
        }
        return try createAccessKey(user: "admin")
    }

    static func random(_ n: Int, alphabet: String) -> String {
        let chars = Array(alphabet)
        var rng = SystemRandomNumberGenerator()
        return String((0..<n).map { _ in chars[Int(rng.next(upperBound: UInt64(chars.count)))] })
    }
}
