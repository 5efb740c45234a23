import Foundation
import HTTPTypes
import Hummingbird
import Logging
import TarnAPI

/// Gives every request an ID (the client's `X-Request-Id`, or the one Hummingbird already made
/// for its logger), echoes it in the response, and logs one structured line per request with
/// method, path, status and duration. Errors are turned into their responses here so they
/// carry the ID too.
struct RequestIDMiddleware<Context: RequestContext>: RouterMiddleware {
    static var header: HTTPField.Name { HTTPField.Name("X-Request-Id")! }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let id: String
        if let given = request.headers[Self.header] {
            id = given
            context.logger[metadataKey: "hb.request.id"] = .string(given)
        } else {
            id = context.id
        }
        let start = ContinuousClock.now
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        } catch {
            response = try APIError.from(error).response(from: request, context: context)
        }
        response.headers[Self.header] = id
        let elapsed = ContinuousClock.now - start
        let micros = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
        Self.logRequest(context.logger, method: request.method, path: request.uri.path, status: response.status, micros: micros)
        return response
    }

    /// The request log line (also written by `ImmediateRequestHandler` for what it answers,
    /// with the request ID its logger lacks: passed here rather than set on a copy of the
    /// logger, which copied the logger's metadata for every request).
    static func logRequest(_ logger: Logger, method: HTTPRequest.Method, path: String, status: HTTPResponse.Status, micros: Int64,
                           requestID: String? = nil) {
        guard logger.logLevel <= .info else { return }
        if let buffered = logger.handler as? BufferedLogHandler,
           buffered.logRequest(method: method.rawValue, path: path, status: status.code, micros: micros, requestID: requestID) {
            return
        }
        var metadata: Logger.Metadata = [
            "method": .string(method.rawValue), "path": .string(path),
            "status": .stringConvertible(status.code), "us": .stringConvertible(micros),
        ]
        if let requestID { metadata["hb.request.id"] = .string(requestID) }
        logger.info("request", metadata: metadata)
    }
}
