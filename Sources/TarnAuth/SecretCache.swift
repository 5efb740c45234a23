import Foundation
import Synchronization
import TarnCore

/// Access keys' opened secrets for a few seconds. Deletions in this process remove entries
/// at once; the time limit bounds how long another server sharing the database (PostgreSQL,
/// later) could still accept a key deleted there.
final class SecretCache: Sendable {
    private struct Entry {
        var user: User
        var secret: String
        var expires: UInt64
        /// The SigV4 signing key last derived from the secret, and its scope.
        var signingKey: (scope: String, key: SigV4.SigningKey)?
    }
    private let entries = Mutex<[String: Entry]>([:])
    private let lifetime: UInt64 = 10 * 1_000_000_000
    private let capacity = 10_000

    /// The cached value for `id`, or `load()`'s (which is cached when it is not nil).
    func lookup(_ id: String, load: () -> (user: User, secret: String)?) -> (user: User, secret: String)? {
        let now = DispatchTime.now().uptimeNanoseconds
        if let e = entries.withLock({ $0[id] }), e.expires > now { return (e.user, e.secret) }
        guard let loaded = load() else { return nil }
        entries.withLock { map in
            if map.count >= capacity { map.removeAll() }
            map[id] = Entry(user: loaded.user, secret: loaded.secret, expires: now + lifetime)
        }
        return loaded
    }

    /// The SigV4 signing key of a cached access key for `scope`, derived once per scope (a
    /// day, a region, a service) rather than with four HMACs on every request.
    func signingKey(_ id: String, scope: String, derive: () -> SigV4.SigningKey) -> SigV4.SigningKey {
        if let known = entries.withLock({ $0[id]?.signingKey }), known.scope == scope { return known.key }
        let key = derive()
        entries.withLock { $0[id]?.signingKey = (scope, key) }
        return key
    }

    func remove(_ id: String) { entries.withLock { _ = $0.removeValue(forKey: id) } }

    func removeAll() { entries.withLock { $0.removeAll() } }
}
