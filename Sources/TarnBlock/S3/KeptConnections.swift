import Dispatch
import NIOCore
import NIOPosix
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Small GETs from a plain-HTTP backend, made by the event loop that serves the client over
/// connections it keeps. Through curl's thread a 4 KiB GET crossed threads twice (the event
/// loop woke the curl thread, which woke the event loop with the answer) and that hand-off,
/// not the transfer, was most of Tarn's time per forwarded GET. Here the request is written and
/// its answer read on the client's event loop, with no thread between.
///
/// curl still makes every connection (`CurlConnection`: its name lookup, timeouts and proxy
/// settings); the event loop adopts a copy of the socket. A loop without an idle connection
/// sends its read through curl as before and opens one for the next read, so the loops keep
/// about as many connections as they have reads in flight.
///
/// Only an answer framed the way the read expects is taken (200, or 206 for a range, with the
/// read's Content-Length). Anything else — an error status, a stall, a connection that closed
/// — closes the connection and gives the caller nil: it then takes the path that retries and
/// reports the backend's error. TLS backends are not kept here; their reads go through curl.
final class KeptConnections: Sendable {
    private let connectTimeout: Double
    private let stallTimeout: TimeAmount
    /// Each event loop's connections (`LoopConnections` is touched only on its loop).
    private let loops = Mutex<[ObjectIdentifier: LoopConnections]>([:])

    /// Most connections each event loop keeps to one origin, and opens at once.
    static let mostKept = 64, mostOpening = 4

    init(connectTimeout: Double, stallTimeout: Double) {
        self.connectTimeout = connectTimeout
        self.stallTimeout = .nanoseconds(Int64(stallTimeout * 1e9))
    }

    deinit {
        for connections in loops.withLock({ Array($0.values) }) {
            connections.loop.execute { connections.closeAll() }
        }
    }

    /// Sends the GET `call` for `length` bytes over an idle connection of `loop` (the caller's
    /// loop), and is called back there with the body or nil. False when `loop` has no idle
    /// connection to the call's origin (one is then opened for a later read): the caller reads
    /// another way, and `complete` is not called.
    func get(_ call: HTTPCall, length: Int, on loop: any EventLoop, complete: @escaping (ByteBuffer?) -> Void) -> Bool {
        let connections = self.connections(of: loop)
        if let kept = connections.take(call.origin) {
            kept.send(call, length: length, stallTimeout: stallTimeout, complete: complete)
            return true
        }
        if connections.mayOpen(call.origin) { open(call.origin, for: connections) }
        return false
    }

    func connections(of loop: any EventLoop) -> LoopConnections {
        let id = ObjectIdentifier(loop as AnyObject)
        return loops.withLock { all in
            if let known = all[id] { return known }
            let made = LoopConnections(loop: loop)
            all[id] = made
            return made
        }
    }

    /// Has curl connect to `origin` (on a Dispatch thread) and hands the socket to the loop,
    /// which parks it; the future says when (it fails when the connection could not be made).
    @discardableResult
    func open(_ origin: String, for connections: LoopConnections) -> EventLoopFuture<Void> {
        connections.opening(origin)
        let timeout = connectTimeout
        let parked = connections.loop.makePromise(of: Void.self)
        DispatchQueue.global().async {
            let fd = CurlConnection.socket(origin, timeout: timeout)
            guard fd >= 0 else {
                connections.loop.execute { connections.failedToOpen(origin) }
                return parked.fail(ChannelError.connectTimeout(.seconds(Int64(timeout))))
            }
            let kept = KeptConnection(origin: origin, connections: connections)
            ClientBootstrap(group: connections.loop)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(kept) }
                }
                .withConnectedSocket(fd)
                .whenComplete { result in
                    switch result {
                    case .success: connections.opened(kept)
                    case .failure: connections.failedToOpen(origin)
                    }
                    parked.completeWith(result.map { _ in })
                }
        }
        return parked.futureResult
    }
}

/// One event loop's kept connections, by origin. Touched only on `loop`.
final class LoopConnections: @unchecked Sendable {
    let loop: any EventLoop
    private var idle: [String: [KeptConnection]] = [:]
    /// Connections open, and being opened.
    private(set) var counts: [String: (open: Int, opening: Int)] = [:]
    /// Reads answered over these connections.
    var served = 0

    init(loop: any EventLoop) { self.loop = loop }

    func take(_ origin: String) -> KeptConnection? { idle[origin]?.popLast() }

    func mayOpen(_ origin: String) -> Bool {
        let count = counts[origin] ?? (0, 0)
        return count.open + count.opening < KeptConnections.mostKept && count.opening < KeptConnections.mostOpening
    }

    func opening(_ origin: String) { counts[origin, default: (0, 0)].opening += 1 }

    func failedToOpen(_ origin: String) { counts[origin, default: (0, 1)].opening -= 1 }

    /// `kept` is connected: counted, and parked unless it closed meanwhile.
    func opened(_ kept: KeptConnection) {
        counts[kept.origin, default: (0, 1)].opening -= 1
        guard kept.isActive else { return }
        kept.counted = true
        counts[kept.origin, default: (0, 0)].open += 1
        park(kept)
    }

    /// Makes `kept` available for the next read.
    func park(_ kept: KeptConnection) { idle[kept.origin, default: []].append(kept) }

    /// `kept` closed (parked or not).
    func closed(_ kept: KeptConnection) {
        if kept.counted { counts[kept.origin, default: (1, 0)].open -= 1 }
        kept.counted = false
        idle[kept.origin]?.removeAll { $0 === kept }
    }

    func closeAll() {
        for kept in idle.values.joined() { kept.close() }
        idle = [:]
    }
}

/// One kept connection: sends a read's request and takes its answer.
final class KeptConnection: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let origin: String
    private let connections: LoopConnections
    private var context: ChannelHandlerContext?
    /// In its loop's count of open connections.
    var counted = false
    var isActive: Bool { context?.channel.isActive ?? false }
    /// The read in flight.
    private var read: Read?

    private struct Read {
        let length: Int
        let ranged: Bool
        let complete: (ByteBuffer?) -> Void
        let stall: Scheduled<Void>
        /// The head as it arrives, then the body.
        var head: ByteBuffer?
        var body: ByteBuffer?
        var keepsConnection = true
    }

    /// The largest head taken; a longer one fails the read.
    static let maxHead = 16 << 10

    init(origin: String, connections: LoopConnections) {
        self.origin = origin
        self.connections = connections
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func send(_ call: HTTPCall, length: Int, stallTimeout: TimeAmount, complete: @escaping (ByteBuffer?) -> Void) {
        guard let context else { return connections.loop.assumeIsolated().execute { complete(nil) } }
        let stall = context.eventLoop.scheduleTask(in: stallTimeout) { [self] in fail() }
        read = Read(length: length, ranged: call.headers["range"] != nil, complete: complete, stall: stall)
        var request = context.channel.allocator.buffer(capacity: 1024)
        request.writeString(call.requestHead)
        context.writeAndFlush(wrapOutboundOut(request), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard var r = read else { return fail() }  // bytes nobody asked for
        read = nil  // while `r` is worked on, so that its buffers are not shared (no copy on write)
        var bytes = unwrapInboundIn(data)
        if r.body == nil {
            if r.head == nil { r.head = bytes } else { r.head!.writeBuffer(&bytes) }
            guard let (head, bodyStart) = r.head!.withUnsafeReadableBytes(ResponseHead.read) else {
                read = r
                return r.head!.readableBytes > Self.maxHead ? fail() : ()
            }
            guard let head, head.frames(length: Int64(r.length), ranged: r.ranged) else {
                read = r
                return fail()
            }
            r.keepsConnection = !head.closes
            bytes = r.head!
            bytes.moveReaderIndex(forwardBy: bodyStart)
            r.head = nil
            // The usual case: the whole body came with the head, and is sent on as a slice of it.
            if bytes.readableBytes == r.length {
                r.body = bytes
                bytes = ByteBuffer()
            } else {
                r.body = context.channel.allocator.buffer(capacity: r.length)
            }
        }
        if bytes.readableBytes > 0 { r.body!.writeBuffer(&bytes) }
        guard r.body!.readableBytes == r.length else {
            read = r
            // Short: wait for the rest. Longer: more than was framed.
            return r.body!.readableBytes > r.length ? fail() : ()
        }
        r.stall.cancel()
        if r.keepsConnection { connections.park(self) } else { close() }
        connections.served += 1
        r.complete(r.body!)
    }

    /// Ends the read in flight with nil (on a later turn of the loop: never inside `send`) and
    /// closes the connection.
    private func fail() {
        if let r = read {
            read = nil
            r.stall.cancel()
            connections.loop.assumeIsolated().execute { r.complete(nil) }
        }
        close()
    }

    func close() { context?.close(promise: nil) }

    func channelInactive(context: ChannelHandlerContext) {
        connections.closed(self)
        fail()
        self.context = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) { fail() }
}
