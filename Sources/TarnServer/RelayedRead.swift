import Foundation
import Metrics
import NIOCore
import TarnBlock

/// A long GET of bytes in S3 relayed from the backend's connection to the client's
/// (`RemoteRelay`), for the pipeline stages that answer reads (`RawReadHandler`,
/// `ImmediateRequestHandler`). On a thread of its own it finds the client's socket, opens the
/// backend's answer, has the stage write the response head on the event loop and, once NIO
/// has put that in the socket, moves the body beside NIO. The stage holds the connection's
/// later requests meanwhile, so nothing else is written to it.
enum RelayedRead {
    enum End {
        /// Nothing was written: the request goes the usual way.
        case declined
        case done
        /// The head went out and the body did not all follow: the stage closes the connection,
        /// which is all that tells the client.
        case failed

        /// `tarn_backend_relays_total{outcome}`, for `GET /metrics`.
        var counter: Counter {
            switch self {
            case .declined: return Self.declinedCount
            case .done: return Self.doneCount
            case .failed: return Self.failedCount
            }
        }

        private static let doneCount = Counter(label: "tarn_backend_relays_total", dimensions: [("outcome", "done")])
        private static let failedCount = Counter(label: "tarn_backend_relays_total", dimensions: [("outcome", "failed")])
        private static let declinedCount = Counter(label: "tarn_backend_relays_total", dimensions: [("outcome", "declined")])
    }

    /// Starts `relay` for the request `context`'s stage is answering; false, with nothing
    /// started, when as many relays as may run are running. On `context`'s event loop:
    /// `writeHead` gets the body bytes that came with the backend's head and writes them after
    /// the response head, with a future that is true once both are in the socket (false when
    /// it wrote nothing); `ended` is called once, afterwards, with how the relay ended.
    static func start(_ relay: RemoteRelay, context: ChannelHandlerContext,
                      writeHead: @escaping (ByteBuffer) -> EventLoopFuture<Bool>, ended: @escaping (End) -> Void) -> Bool {
        guard RemoteRelay.claim() else { return false }
        let loop = context.eventLoop
        let bound = NIOLoopBound((writeHead: writeHead, ended: ended), eventLoop: loop)
        let end: @Sendable (End) -> Void = { how in
            loop.execute {
                how.counter.increment()
                bound.value.ended(how)
            }
        }
        guard let local = context.channel.localAddress, let remote = context.channel.remoteAddress else {
            RemoteRelay.release()
            end(.declined)
            return true
        }
        Thread.detachNewThread {
            defer { RemoteRelay.release() }
            guard let client = ClientSocket.duplicate(local: local, remote: remote) else { return end(.declined) }
            defer { close(client) }
            guard let source = relay.open() else { return end(.declined) }
            let leftover = source.leftover
            let written = loop.flatSubmit { bound.value.writeHead(ByteBuffer(bytes: leftover)) }
            switch Result(catching: { try written.wait() }) {
            case .success(false): return end(.declined)
            case .failure: return end(.failed)
            case .success(true): end(source.relay(to: client) == .done ? .done : .failed)
            }
        }
        return true
    }
}
