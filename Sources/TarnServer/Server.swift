import Foundation
import Hummingbird
import Logging
import TarnAPI
import TarnAuth
import TarnCatalog

/// How a Tarn server is set up. Filled from flags, environment and file in one place (the
/// `tarn serve` command); nothing else reads the environment.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var dataDirectory: URL
    /// `TARN_ADMIN_ACCESS_KEY_ID` / `TARN_ADMIN_SECRET_ACCESS_KEY`: fixed quickstart admin keys.
    public var adminKey: AccessKey?

    public init(host: String = "0.0.0.0", port: Int = 8000, dataDirectory: URL, adminKey: AccessKey? = nil) {
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.adminKey = adminKey
    }
}

/// Builds the HTTP application: the REST API over a catalog. `onListening` gets the port the
/// server is bound to (the one asked for, or the one the system chose for port 0), once it
/// accepts connections.
public func buildApplication(catalog: Catalog, authenticator: Authenticator, configuration: ServerConfiguration, logger: Logger,
                             onListening: @escaping @Sendable (Int) -> Void = { _ in }) -> some ApplicationProtocol {
    Application(
        router: buildRouter(catalog: catalog, authenticator: authenticator),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "tarn"),
        onServerRunning: { channel in onListening(channel.localAddress?.port ?? configuration.port) },
        logger: logger
    )
}

/// The router alone, for tests that drive it without a socket (`authenticator == nil`
/// serves without authentication: handler tests only).
public func buildRouter(catalog: Catalog, authenticator: Authenticator?) -> Router<APIRequestContext> {
    let router = Router(context: APIRequestContext.self)
    router.add(middleware: RequestIDMiddleware())
    addAPIRoutes(to: router, catalog: catalog, authenticator: authenticator)
    return router
}

/// The authenticator of a data directory: its server key in `server.key` (created on first
/// start), credentials in the catalog's database.
public func openAuthenticator(catalog: Catalog, dataDirectory: URL) throws -> Authenticator {
    let key = try Authenticator.loadOrCreateKey(file: dataDirectory.appendingPathComponent("server.key"))
    return Authenticator(store: catalog.metadata, serverKey: key)
}
