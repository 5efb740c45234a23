import Hummingbird
import TarnAuth

/// Requires credentials that belong to a user — HTTP Basic (access key ID : secret), a Bearer
/// session token from `/auth/login`, or that token in the `internal_auth_session` cookie the
/// login sets — and puts the user in the context. Anything else is 401
/// `{"message": "error authenticating request"}`, as lakeFS answers.
public struct AuthMiddleware<Context: UserRequestContext>: RouterMiddleware {
    static var sessionCookie: String { "internal_auth_session" }
    let authenticator: Authenticator

    public init(authenticator: Authenticator) { self.authenticator = authenticator }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var user: User?
        if let header = request.headers[.authorization] {
            user = authenticator.authenticate(authorization: header)
        } else if let token = request.cookies[Self.sessionCookie]?.value {
            user = authenticator.authenticateToken(token)
        }
        guard let user else { throw APIError.unauthenticated }
        var context = context
        context.user = user
        return try await next(request, context)
    }
}
