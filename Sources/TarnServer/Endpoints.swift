import Hummingbird
import Prometheus
import TarnAPI
import TarnAuth
import TarnCatalog
import TarnS3

/// One port, two protocols: requests the S3 gateway claims (an AWS signature, a Host under the
/// S3 domain) go to it, everything else to the REST API router.
struct EndpointSplitter<API: HTTPResponder<APIRequestContext>, S3: HTTPResponder<APIRequestContext>>: HTTPResponder {
    let gateway: S3Gateway
    let api: API
    let s3: S3

    func respond(to request: Request, context: APIRequestContext) async throws -> Response {
        if gateway.claims(request) { return try await s3.respond(to: request, context: context) }
        return try await api.respond(to: request, context: context)
    }
}

/// The S3 side's router: every path and method goes to the gateway, with the same request
/// IDs, request log lines and metrics as the REST API.
func buildS3Router(gateway: S3Gateway, metrics: Bool) -> Router<APIRequestContext> {
    let router = Router(context: APIRequestContext.self)
    if metrics { router.add(middleware: MetricsMiddleware()) }
    router.add(middleware: RequestIDMiddleware())
    let handler: @Sendable (Request, APIRequestContext) async throws -> Response = { request, context in
        await gateway.respond(to: request, channel: context.channel, requestID: context.id, logger: context.logger)
    }
    for method in [HTTPRequest.Method.get, .put, .post, .delete, .head] {
        router.on("/", method: method, use: handler)
        router.on("**", method: method, use: handler)
    }
    return router
}

/// The route the S3 router's metrics are kept under (its catch-all `**`).
let s3Route = "/**"

func makeGateway(catalog: Catalog, authenticator: Authenticator, configuration: ServerConfiguration) -> S3Gateway {
    S3Gateway(catalog: catalog, authenticator: authenticator, domain: configuration.s3Domain,
              region: configuration.s3Region, bucketNamespaceRoot: configuration.s3BucketNamespaceRoot)
}

/// The REST API and the S3 gateway behind one responder.
public func buildResponder(catalog: Catalog, authenticator: Authenticator, configuration: ServerConfiguration,
                           metrics: PrometheusCollectorRegistry? = nil) -> some HTTPResponder<APIRequestContext> {
    buildResponder(gateway: makeGateway(catalog: catalog, authenticator: authenticator, configuration: configuration),
                   catalog: catalog, authenticator: authenticator, metrics: metrics)
}

func buildResponder(gateway: S3Gateway, catalog: Catalog, authenticator: Authenticator,
                    metrics: PrometheusCollectorRegistry?) -> some HTTPResponder<APIRequestContext> {
    EndpointSplitter(gateway: gateway,
                            api: buildRouter(catalog: catalog, authenticator: authenticator, metrics: metrics).buildResponder(),
                            s3: buildS3Router(gateway: gateway, metrics: metrics != nil).buildResponder())
}
