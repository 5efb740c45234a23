import Hummingbird
import Logging
import ServiceLifecycle

/// Runs `app` until SIGTERM or SIGINT, then shuts down gracefully: the listener closes, requests
/// in flight (an upload half sent, say) run to their end, and only then does this return, so
/// the caller can close the database. `onShutdown` runs when the signal arrives, before the
/// server stops accepting.
public func runUntilSignalled(_ app: some ApplicationProtocol, logger: Logger, onShutdown: @escaping @Sendable () -> Void) async throws {
    let notice = ShutdownNotice(announce: onShutdown)
    // Services shut down in reverse order: the notice first, then the HTTP server.
    let group = ServiceGroup(configuration: .init(
        services: [.init(service: app), .init(service: notice, successTerminationBehavior: .ignore)],
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: logger
    ))
    try await group.run()
}

/// A service that does nothing until graceful shutdown begins, then says so.
struct ShutdownNotice: Service {
    let announce: @Sendable () -> Void

    func run() async throws {
        try? await gracefulShutdown()
        announce()
    }
}
