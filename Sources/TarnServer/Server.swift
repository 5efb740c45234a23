import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import Prometheus
import TarnActions
import TarnAPI
import TarnAuth
import TarnBlock
import TarnCatalog
import TarnLineage
import TarnMetadata

/// Builds the HTTP application: the REST API and the S3 gateway over a catalog. `onListening` gets the port the
/// server is bound to (the one asked for, or the one the system chose for port 0), once it
/// accepts connections.
public func buildApplication(catalog: Catalog, authenticator: Authenticator, configuration: ServerConfiguration, logger: Logger,
                             metrics: PrometheusCollectorRegistry? = nil,
                             onListening: @escaping @Sendable (Int) -> Void = { _ in }) -> some ApplicationProtocol {
    let gateway = makeGateway(catalog: catalog, authenticator: authenticator, configuration: configuration)
    let accounting = ImmediateAccounting(logger: logger, metrics: metrics.map { _ in RequestMetrics(route: s3Route) })
    let http1 = HTTP1Channel.Configuration(additionalChannelHandlers: [ImmediateRequestHandler(gateway: gateway, accounting: accounting)])
    return Application(
        responder: buildResponder(gateway: gateway, catalog: catalog, authenticator: authenticator, metrics: metrics),
        server: HTTPServerBuilder { responder in
            TarnHTTP1Channel(http1: HTTP1Channel(responder: responder, configuration: http1),
                             rawReads: { RawReadHandler(gateway: gateway, accounting: accounting) })
        },
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "tarn"),
        onServerRunning: { channel in onListening(channel.localAddress?.port ?? configuration.port) },
        logger: logger
    )
}

/// Hummingbird's HTTP/1 channel with `RawReadHandler` in front of its decoder.
struct TarnHTTP1Channel: ServerChildChannel {
    let http1: HTTP1Channel
    let rawReads: @Sendable () -> RawReadHandler

    /// NIO reads at most 64 KiB per call by default. A large upload then takes a `read`,
    /// a copy and an ACK for every 64 KiB; an adaptive buffer of up to 1 MiB grows to the
    /// upload's pace and shrinks back for small requests.
    static let receiveBuffers = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2_048, maximum: 1 << 20)

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<HTTP1Channel.Value> {
        http1.setup(channel: channel, logger: logger).flatMapThrowing { value in
            try channel.syncOptions?.setOption(ChannelOptions.recvAllocator, value: Self.receiveBuffers)
            try channel.pipeline.syncOperations.addHandler(rawReads(), position: .first)
            return value
        }
    }

    func handle(value: HTTP1Channel.Value, logger: Logger) async {
        await http1.handle(value: value, logger: logger)
    }
}

/// The router alone, for tests that drive it without a socket (`authenticator == nil`
/// serves without authentication: handler tests only).
public func buildRouter(catalog: Catalog, authenticator: Authenticator?,
                        metrics: PrometheusCollectorRegistry? = nil) -> Router<APIRequestContext> {
    let router = Router(context: APIRequestContext.self)
    if let metrics {
        // Outside the request-ID middleware, which turns errors into responses: so error
        // responses get their latency recorded too, not only a count.
        router.add(middleware: MetricsMiddleware())
        ServerMetrics.register(on: router, registry: metrics)
    }
    router.add(middleware: RequestIDMiddleware())
    addAPIRoutes(to: router, catalog: catalog, authenticator: authenticator)
    return router
}

/// The catalog a configuration names: its SQLite database, its local object root (both
/// created if missing) and, when configured, its S3 backend.
public func openCatalog(_ configuration: ServerConfiguration) throws -> Catalog {
    let fm = FileManager.default
    try fm.createDirectory(at: configuration.dataDirectory, withIntermediateDirectories: true)
    let database = URL(fileURLWithPath: configuration.databasePath)
    try fm.createDirectory(at: database.deletingLastPathComponent(), withIntermediateDirectories: true)
    let store = try SQLiteStore(path: database.path)
    let s3 = try configuration.s3Backend.map {
        try S3BlockStore(settings: $0, spoolDirectory: configuration.dataDirectory.appendingPathComponent(".spool").path)
    }
    if s3 != nil { try fm.createDirectory(at: configuration.dataDirectory.appendingPathComponent(".spool"), withIntermediateDirectories: true) }
    return Catalog(metadata: store, blocks: BlockStores(local: try LocalBlockStore(root: configuration.objectStoreRoot), s3: s3),
                   hooks: ActionsService(execAllowList: configuration.hooksExecAllow),
                   openLineage: configuration.openLineageURL.map { OpenLineagePublisher(url: $0) })
}

/// The authenticator of a data directory: its server key in `server.key` (created on first
/// start), credentials in the catalog's database.
public func openAuthenticator(catalog: Catalog, dataDirectory: URL) throws -> Authenticator {
    let key = try Authenticator.loadOrCreateKey(file: dataDirectory.appendingPathComponent("server.key"))
    return Authenticator(store: catalog.metadata, serverKey: key)
}
