import Foundation
import TarnCore

/// Failures of user and credential management, mapped to wire codes by each wire layer.
public enum AuthError: Error, Sendable, CustomStringConvertible {
    case userNotFound(String)
    case credentialsNotFound(String)
    case invalidUserID(String)

    public var description: String {
        switch self {
        case let .userNotFound(id): return "user not found: \(id)"
        case let .credentialsNotFound(id): return "credentials not found: \(id)"
        case let .invalidUserID(id): return "invalid user id: \(id)"
        }
    }
}

/// A user as the API shows it.
public struct UserRecord: Sendable, Hashable {
    public var id: String
    public var createdAt: Int64
}

/// An access key as listed: its ID and creation time, never its secret.
public struct CredentialRecord: Sendable, Hashable {
    public var accessKeyID: String
    public var createdAt: Int64
}

/// Users and their access keys (`/auth/users`, `/auth/users/{id}/credentials`).
extension Authenticator {
    public func createUser(_ id: String) throws -> UserRecord {
        // Printable, no slash (it is a path segment), at most 256 bytes.
        guard !id.isEmpty, id.utf8.count <= 256, !id.contains("/"),
              id.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7f }) else { throw AuthError.invalidUserID(id) }
        let now = Self.now()
        try store.createUser(id, createdAt: now)
        return UserRecord(id: id, createdAt: now)
    }

    public func user(_ id: String) throws -> UserRecord {
        guard let created = try store.userCreatedAt(id) else { throw AuthError.userNotFound(id) }
        return UserRecord(id: id, createdAt: created)
    }

    public func listUsers(prefix: String, after: String, amount: Int) throws -> Page<UserRecord> {
        let rows = try store.listUsers(prefix: prefix, after: after, limit: amount + 1)
        return .from(rows.map { UserRecord(id: $0.id, createdAt: $0.createdAt) }, amount: amount)
    }

    /// Deletes a user with all its access keys; its session tokens stop working at once.
    public func deleteUser(_ id: String) throws {
        guard try store.deleteUser(id) else { throw AuthError.userNotFound(id) }
        openedSecrets.removeAll()
    }

    /// A fresh key pair for an existing user; the secret is shown only in this answer.
    public func createCredentials(user: String) throws -> (key: AccessKey, createdAt: Int64) {
        _ = try self.user(user)
        let key = try createAccessKey(user: user)
        return (key, try store.credentialCreatedAt(user: user, accessKeyID: key.accessKeyID) ?? Self.now())
    }

    public func listCredentials(user: String, after: String, amount: Int) throws -> Page<CredentialRecord> {
        _ = try self.user(user)
        let rows = try store.listCredentials(user: user, after: after, limit: amount + 1)
        return .from(rows.map { CredentialRecord(accessKeyID: $0.accessKeyID, createdAt: $0.createdAt) }, amount: amount)
    }

    public func credentials(user: String, accessKeyID: String) throws -> CredentialRecord {
        _ = try self.user(user)
        guard let created = try store.credentialCreatedAt(user: user, accessKeyID: accessKeyID) else {
            throw AuthError.credentialsNotFound(accessKeyID)
        }
        return CredentialRecord(accessKeyID: accessKeyID, createdAt: created)
    }

    public func deleteCredentials(user: String, accessKeyID: String) throws {
        _ = try self.user(user)
        guard try store.deleteCredential(user: user, accessKeyID: accessKeyID) else { throw AuthError.credentialsNotFound(accessKeyID) }
        openedSecrets.remove(accessKeyID)
    }
}
