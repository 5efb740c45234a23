import Foundation
import Hummingbird
import Logging
import TarnAPI
import TarnCatalog

/// How a Tarn server is set up. Filled from flags, environment and file in one place (the
/// `tarn serve` command); nothing else reads the environment.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var dataDirectory: URL

    public init(host: String = "0.0.0.0", port: Int = 8000, dataDirectory: URL) {
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
    }
}

/// Builds the HTTP application: the REST API over a catalog. `onListening` gets the port the
/// server is bound to (the one asked for, or the one the system chose for port 0), once it
/// accepts connections.
public func buildApplication(catalog: Catalog, configuration: ServerConfiguration, logger: Logger,
                             onListening: @escaping @Sendable (Int) -> Void = { _ in }) -> some ApplicationProtocol {
    Application(
        router: buildRouter(catalog: catalog),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "tarn"),
        onServerRunning: { channel in onListening(channel.localAddress?.port ?? configuration.port) },
        logger: logger
    )
}

/// The router alone, for tests that drive it without a socket.
public func buildRouter(catalog: Catalog) -> Router<BasicRequestContext> {
    let router = Router()
    addAPIRoutes(to: router, catalog: catalog)
    return router
}
