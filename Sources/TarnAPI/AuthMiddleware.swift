import Hummingbird
import TarnAuth

/// Requires HTTP Basic credentials (access key ID : secret) that belong to a user; anything
/// else is 401 `{"message": "error authenticating request"}`, as lakeFS answers.
public struct AuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let authenticator: Authenticator

    public init(authenticator: Authenticator) { self.authenticator = authenticator }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], authenticator.authenticateBasic(header) != nil else {
            throw APIError(.unauthorized, "error authenticating request")
        }
        return try await next(request, context)
    }
}
