import CLinuxShims
import Hummingbird
import Logging
import ServiceLifecycle
import TarnBlock

/// Runs `app` until SIGTERM or SIGINT, then shuts down gracefully: the listener closes, requests
/// in flight (an upload half sent, say) run to their end, and only then does this return, so
/// the caller can close the database. `onShutdown` runs when the signal arrives, before the
/// server stops accepting; `onRelaysLeft` once the server has stopped, with the relayed GETs
/// still running (if any), before they are waited for.
public func runUntilSignalled(_ app: some ApplicationProtocol, logger: Logger, onShutdown: @escaping @Sendable () -> Void,
                              onRelaysLeft: (Int) -> Void) async throws {
    let notice = ShutdownNotice(announce: onShutdown)
    // Services shut down in reverse order: the notice first, then the HTTP server.
    let group = ServiceGroup(configuration: .init(
        services: [.init(service: app), .init(service: notice, successTerminationBehavior: .ignore)],
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: logger
    ))
    try await group.run()
    // A relayed GET moves its body on a thread of its own, through its own copy of the
    // client's socket (`RelayedRead`): the server's graceful shutdown does not see it, and the
    // process's exit cut the body short. It runs to its end first, like any request in flight.
    let left = RemoteRelay.inFlight
    if left > 0 { onRelaysLeft(left) }
    while RemoteRelay.inFlight > 0 {
        try? await Task.sleep(for: .milliseconds(10))
    }
}

/// A service that does nothing until graceful shutdown begins, then says so.
struct ShutdownNotice: Service {
    let announce: @Sendable () -> Void

    func run() async throws {
        try? await gracefulShutdown()
        announce()
    }
}

/// Keeps glibc's allocator from handing the buffers of streamed bodies (1 MiB chunks, curl's
/// 256 KiB callbacks) back to the kernel after every use. By default blocks from 128 KiB up
/// may be mapped and unmapped each time, and a freed top of heap is trimmed, so chunks of a
/// large transfer were faulted in and zeroed afresh: 15 % of the server's CPU while a 1 GiB
/// object streamed to an S3 backend. Blocks below 8 MiB now come from the heap, and up to
/// 64 MiB of free heap is kept for the next chunk; what stays resident is the working set of
/// a few buffers per transfer.
public func tuneAllocatorForStreaming() {
    tarn_tune_allocator(8 << 20, 64 << 20)
}
