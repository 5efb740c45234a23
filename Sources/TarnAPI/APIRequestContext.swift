import Hummingbird
import NIOCore
import TarnAuth

/// A request context that carries the authenticated user, set by `AuthMiddleware`.
public protocol UserRequestContext: RequestContext {
    var user: User? { get set }
}

/// The REST API's request context.
public struct APIRequestContext: UserRequestContext {
    public var coreContext: CoreRequestContextStorage
    public var user: User?
    public var responseEncoder: some ResponseEncoder { APIResponseEncoder() }
    /// The connection, for the rare interim response (`100 Continue`).
    public let channel: any Channel

    public init(source: Source) {
        coreContext = .init(source: source)
        user = nil
        channel = source.channel
    }
}

extension UserRequestContext {
    /// Who a commit is recorded as made by: the authenticated user's ID.
    var committer: String { user?.id ?? "" }
}
