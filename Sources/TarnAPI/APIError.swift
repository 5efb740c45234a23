import Foundation
import Hummingbird
import TarnAuth
import TarnBlock
import TarnCatalog
import TarnCore
import TarnLineage

/// An error as the REST API returns it: a status and `{"message": ...}`. Every typed error of
/// the layers below becomes one of these here, and only here (the lakeFS status table is in
/// `../shared/reference/lakefs-wire-contract.md` §1.1).
public struct APIError: HTTPResponseError {
    public let status: HTTPResponse.Status
    public let message: String
    /// Fields some errors carry beside `message` (a merge conflict's `reference`).
    public let extra: [String: String]

    public init(_ status: HTTPResponse.Status, _ message: String, extra: [String: String] = [:]) {
        self.status = status
        self.message = message
        self.extra = extra
    }

    /// Missing or wrong credentials, in lakeFS's words.
    public static let unauthenticated = APIError(.unauthorized, "error authenticating request")

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers: HTTPFields = [.contentType: "application/json", .init("X-Content-Type-Options")!: "nosniff"]
        if request.method == .head {
            headers[.contentLength] = "0"
            return Response(status: status, headers: headers)
        }
        let body = try JSONEncoder().encode(extra.merging(["message": message]) { $1 })
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// The one table from typed errors to statuses.
    public static func from(_ error: any Error) -> APIError {
        switch error {
        case let e as APIError: return e
        case let e as EngineError: return from(engine: e)
        case let e as BlockStoreError:
            switch e {
            case .invalidPath, .unsupportedNamespace: return APIError(.badRequest, e.description)
            case .notFound: return APIError(.gone, e.description)
            case .invalidRange: return APIError(.rangeNotSatisfiable, e.description)
            case .incompleteBody: return APIError(.badRequest, e.description)
            case .io: return APIError(.internalServerError, e.description)
            case .unavailable: return APIError(.serviceUnavailable, e.description)
            case .backend: return APIError(.badGateway, e.description)
            case .namespaceRefused: return APIError(.badRequest, e.description)
            }
        case let e as AuthError:
            switch e {
            case .userNotFound, .credentialsNotFound: return APIError(.notFound, e.description)
            case .invalidUserID: return APIError(.badRequest, e.description)
            }
        case let e as ActionRunError: return APIError(.notFound, e.description)
        case let e as LineageError:
            switch e {
            case .invalidArgument: return APIError(.badRequest, e.description)
            case .runNotFound: return APIError(.notFound, e.description)
            case .notRunning: return APIError(.conflict, e.description)
            }
        case let e as ImportError:
            switch e {
            case .notFound: return APIError(.notFound, e.description)
            case .alreadyCompleted: return APIError(.conflict, e.description)
            }
        case is DecodingError: return APIError(.badRequest, "malformed request body")
        case let e as HTTPError: return APIError(e.status, e.body ?? e.status.reasonPhrase)
        default: return APIError(.internalServerError, String(describing: error))
        }
    }

    static func from(engine e: EngineError) -> APIError {
        switch e {
        case .invalidName, .invalidArgument, .ambiguousRef, .namespaceInUse, .dirtyBranch, .noChanges:
            return APIError(.badRequest, e.description)
        case .repositoryNotFound, .branchNotFound, .tagNotFound, .commitNotFound, .refNotFound, .objectNotFound:
            return APIError(.notFound, e.description)
        case .alreadyExists, .conflict:
            return APIError(.conflict, e.description)
        case .notAllowed, .protectedBranch:
            return APIError(.forbidden, e.description)
        case .preconditionFailed, .hookAborted:
            return APIError(.preconditionFailed, e.description)
        case .concurrentUpdate:
            return APIError(.serviceUnavailable, e.description)
        case .corrupt, .storage:
            return APIError(.internalServerError, e.description)
        }
    }
}

/// Turns every error a handler throws into an `APIError` response.
public struct APIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            throw APIError.from(error)
        }
    }
}
