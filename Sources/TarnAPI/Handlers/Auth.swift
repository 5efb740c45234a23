import Foundation
import Hummingbird
import TarnAuth
import TarnCore

/// `/auth/login`, `/setup_lakefs` (POST), `/auth/capabilities`, `/user`, `/auth/users` and
/// `/auth/users/{user}/credentials`.
struct Auth {
    let authenticator: Authenticator

    struct LoginInformation: Decodable { var access_key_id: String; var secret_access_key: String }
    struct AuthenticationToken: Codable, ResponseEncodable { var token: String; var token_expiration: Int64 }
    struct UserCreation: Decodable { var id: String }
    struct UserJSON: Codable, ResponseEncodable {
        var id: String
        var creation_date: Int64
        init(_ u: UserRecord) { id = u.id; creation_date = u.createdAt }
    }
    struct CurrentUser: Codable, ResponseEncodable { var user: UserJSON }
    struct CredentialsJSON: Codable, ResponseEncodable {
        var access_key_id: String
        var creation_date: Int64
        init(_ c: CredentialRecord) { access_key_id = c.accessKeyID; creation_date = c.createdAt }
    }
    struct CredentialsWithSecret: Codable, ResponseEncodable {
        var access_key_id: String
        var secret_access_key: String
        var creation_date: Int64
    }
    struct AuthCapabilities: Codable, ResponseEncodable { var invite_user = false; var forgot_password = false }

    /// The access key ID of an HTTP Basic `Authorization` header, if that is how the request
    /// authenticated.
    static func basicAccessKeyID(_ request: Request) -> String? {
        guard let header = request.headers[.authorization], header.hasPrefix("Basic "),
              let decoded = Data(base64Encoded: String(header.dropFirst(6))) else { return nil }
        return String(decoding: decoded, as: UTF8.self).split(separator: ":", maxSplits: 1).first.map(String.init)
    }

    /// Endpoints that need no credentials.
    func registerOpen<Context: RequestContext>(_ api: RouterGroup<Context>) {
        api.post("auth/login") { request, context in
            let body = try await request.decode(as: LoginInformation.self, context: context)
            guard let session = authenticator.login(accessKeyID: body.access_key_id, secret: body.secret_access_key) else {
                throw APIError.unauthenticated
            }
            let json = try JSONEncoder().encode(AuthenticationToken(token: session.token, token_expiration: session.expiresAt))
            let cookie = Cookie(name: AuthMiddleware<APIRequestContext>.sessionCookie, value: session.token,
                                expires: Date(timeIntervalSince1970: TimeInterval(session.expiresAt)), path: "/",
                                httpOnly: true, sameSite: .strict)
            return Response(status: .ok, headers: [.contentType: "application/json", .setCookie: cookie.description],
                            body: .init(byteBuffer: ByteBuffer(bytes: json)))
        }
        // The server sets itself up (its admin key is made on first start), so setup is done.
        api.post("setup_lakefs") { _, _ -> Response in throw APIError(.conflict, "lakeFS already initialized") }
        api.get("auth/capabilities") { _, _ in AuthCapabilities() }
    }

    func register<Context: UserRequestContext>(_ api: RouterGroup<Context>) {
        api.get("user") { _, context in
            guard let user = context.user else { throw APIError.unauthenticated }
            return CurrentUser(user: UserJSON(try authenticator.user(user.id)))
        }
        api.get("auth/users") { request, _ in
            let q = PageQuery(request)
            let page = try authenticator.listUsers(prefix: q.prefix, after: q.after, amount: q.amount)
            return ListResponse(page.items.map(UserJSON.init), hasMore: page.hasMore) { $0.id }
        }
        api.post("auth/users") { request, context in
            let body = try await request.decode(as: UserCreation.self, context: context)
            return EditedResponse(status: .created, response: UserJSON(try authenticator.createUser(body.id)))
        }
        api.get("auth/users/:user") { _, context in
            UserJSON(try authenticator.user(try context.parameters.require("user")))
        }
        api.delete("auth/users/:user") { _, context in
            let id = try context.parameters.require("user")
            // Locking oneself out is never what a client meant.
            guard id != context.user?.id else { throw APIError(.forbidden, "cannot delete the user making the request") }
            try authenticator.deleteUser(id)
            return HTTPResponse.Status.noContent
        }
        api.get("auth/users/:user/credentials") { request, context in
            let q = PageQuery(request)
            let page = try authenticator.listCredentials(user: try context.parameters.require("user"), after: q.after, amount: q.amount)
            return ListResponse(page.items.map(CredentialsJSON.init), hasMore: page.hasMore) { $0.access_key_id }
        }
        api.post("auth/users/:user/credentials") { _, context in
            let (key, created) = try authenticator.createCredentials(user: try context.parameters.require("user"))
            return EditedResponse(status: .created, response: CredentialsWithSecret(
                access_key_id: key.accessKeyID, secret_access_key: key.secretAccessKey, creation_date: created))
        }
        api.get("auth/users/:user/credentials/:key") { _, context in
            CredentialsJSON(try authenticator.credentials(user: try context.parameters.require("user"),
                                                          accessKeyID: try context.parameters.require("key")))
        }
        api.delete("auth/users/:user/credentials/:key") { request, context in
            let key = try context.parameters.require("key")
            guard key != Self.basicAccessKeyID(request) else {
                throw APIError(.forbidden, "cannot delete the access key the request is signed with")
            }
            try authenticator.deleteCredentials(user: try context.parameters.require("user"), accessKeyID: key)
            return HTTPResponse.Status.noContent
        }
    }
}
