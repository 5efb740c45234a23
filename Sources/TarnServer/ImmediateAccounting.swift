import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import Synchronization
import TarnAPI
import TarnCore

/// What the requests answered ahead of the router get from it too: the fields the router's
/// middleware adds (`X-Request-Id`, `x-amz-request-id`, `Date`, `Server`), the request log
/// line and the metrics under the S3 router's route.
struct ImmediateAccounting {
    let logger: Logger
    let metrics: RequestMetrics?

    /// `head` with the request ID (the client's `X-Request-Id`, or a new one) and the common fields.
    func decorate(_ answerHead: HTTPResponse, for request: HTTPRequest) -> (HTTPResponse, requestID: String) {
        var head = answerHead
        let (id, fields) = commonFields(for: request)
        for field in fields { head.headerFields[field.name] = field.value }
        return (head, id)
    }

    private static let amzRequestID = HTTPField.Name("x-amz-request-id")!

    /// The request ID and the fields `decorate` sets, in its order.
    func commonFields(for request: HTTPRequest) -> (requestID: String, fields: [HTTPField]) {
        let id = request.headerFields[RequestIDMiddleware<APIRequestContext>.header] ?? RequestID().description
        return (id, [HTTPField(name: RequestIDMiddleware<APIRequestContext>.header, value: id), HTTPField(name: Self.amzRequestID, value: id),
                     HTTPField(name: .date, value: HTTPDateCache.now()), HTTPField(name: .server, value: "tarn")])
    }

    func record(_ request: HTTPRequest, status: HTTPResponse.Status, start: UInt64, requestID: String) {
        let nanos = DispatchTime.now().uptimeNanoseconds - start
        metrics?.record(method: request.method, status: status, nanoseconds: nanos)
        // The immediate paths take no request with a query: the target is the path.
        RequestIDMiddleware<APIRequestContext>.logRequest(logger, method: request.method, path: request.path ?? "", status: status,
                                                          micros: Int64(nanos / 1_000), requestID: requestID)
    }
}

/// The counters and timers Hummingbird's `MetricsMiddleware` keeps for the S3 router's
/// catch-all route, made once per method and status.
final class RequestMetrics: Sendable {
    private struct Key: Hashable {
        let method: HTTPRequest.Method
        let status: Int
    }
    private let route: String
    private let cache = Mutex<[Key: (Counter, Metrics.Timer)]>([:])

    init(route: String) { self.route = route }

    func record(method: HTTPRequest.Method, status: HTTPResponse.Status, nanoseconds: UInt64) {
        let key = Key(method: method, status: status.code)
        let (counter, timer) = cache.withLock { cache in
            if let made = cache[key] { return made }
            let dimensions = [("http.route", route), ("http.request.method", method.rawValue), ("http.response.status_code", String(status.code))]
            let made = (Counter(label: "hb.requests", dimensions: dimensions),
                        Metrics.Timer(label: "http.server.request.duration", dimensions: dimensions, preferredDisplayUnit: .seconds))
            cache[key] = made
            return made
        }
        counter.increment()
        timer.recordNanoseconds(Int64(nanoseconds))
    }
}

/// The `Date` header's value, formatted once a second.
enum HTTPDateCache {
    private static let cached = Mutex<(second: Int64, text: String)>((0, ""))

    static func now() -> String {
        let second = Int64(Date().timeIntervalSince1970)
        return cached.withLock { c in
            if c.second != second { c = (second, HTTPDate.rfc1123(second)) }
            return c.text
        }
    }
}
