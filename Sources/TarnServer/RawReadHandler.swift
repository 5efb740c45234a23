import Foundation
import HTTPTypes
import NIOCore
import TarnBlock
import TarnS3

/// The first stage of a connection's pipeline, ahead of NIO's HTTP decoder: plain signed GETs
/// and HEADs of small objects (`HTTP1Wire` reads the head, `S3Gateway.answerImmediately`
/// answers it) are answered from the connection's bytes, and their responses written as bytes.
/// A 4 KiB GET spent about a sixth of the server's CPU in NIO's HTTP/1 decoder, the
/// conversions to and from HTTP types and the response encoder; this stage spends a fraction.
///
/// An object kept in S3 is fetched by one backend GET the event loop starts and is called back
/// from, or, from 8 MiB, relayed from the backend's connection (`RelayedRead`); meanwhile what
/// the connection sends (up to `readAheadWhileWaiting`) waits here. A fetch or relay that fails
/// before its answer began leaves its request to the next stages, which retry and report errors.
///
/// The first request this stage does not answer — another operation, a body, anything the
/// narrow parser refuses, an error — goes on to NIO's decoder with every byte after it, and
/// so does the rest of the connection: from then on the decoder keeps state (a body being
/// read, a pipelined request half-parsed) that bytes cannot be taken from. The requests
/// answered here get what the router's answers get (`ImmediateAccounting`).
final class RawReadHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private let gateway: S3Gateway
    private let accounting: ImmediateAccounting
    /// Bytes go on to the decoder unread.
    private var passing = false
    /// Bytes read but not yet answered: the start of a head that has not all arrived, or,
    /// while a backend fetch is in flight, its request and everything after it.
    private var unread: ByteBuffer?
    /// A backend fetch is in flight.
    private var waiting = false
    /// The client's input ended while a fetch was in flight: passed on after it.
    private var inputClosedHeld = false
    /// A read the pipeline asked for while waiting or while the connection could not take more output.
    private var readHeld = false

    init(gateway: S3Gateway, accounting: ImmediateAccounting) {
        self.gateway = gateway
        self.accounting = accounting
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if passing {
            context.fireChannelRead(data)
            return
        }
        var bytes = unwrapInboundIn(data)
        if var earlier = unread {
            unread = nil // before the write, so that the buffer is not copied
            earlier.writeBuffer(&bytes)
            bytes = earlier
        }
        if waiting {
            unread = bytes
        } else {
            answer(bytes, context: context)
        }
    }

    /// Answers the requests in `bytes` one after another, until one is incomplete, waits for
    /// a fetch, or is left to the decoder.
    private func answer(_ bytes: ByteBuffer, context: ChannelHandlerContext) {
        var bytes = bytes
        var answered = false
        defer { if answered { flushAfterThisTick(context: context) } }
        while bytes.readableBytes > 0 {
            switch HTTP1Wire.parseRequestHead(bytes) {
            case .incomplete:
                unread = bytes
                return
            case .unsupported:
                passOn(bytes, context: context)
                return
            case let .head(request, length):
                let start = DispatchTime.now().uptimeNanoseconds
                guard let answer = gateway.answerImmediately(request, relaying: true) else {
                    passOn(bytes, context: context)
                    return
                }
                switch answer.body {
                case let .remote(read):
                    unread = bytes
                    fetch(read, head: answer.head, request: request, length: length, start: start, context: context)
                    return
                case let .relay(relay):
                    unread = bytes
                    if !self.relay(relay, head: answer.head, request: request, length: length, start: start, context: context) {
                        unread = nil
                        passOn(bytes, context: context)
                    }
                    return
                case let .bytes(body):
                    guard write(answer.head, body: body, to: request, start: start, context: context) else {
                        passOn(bytes, context: context)
                        return
                    }
                case .none:
                    guard write(answer.head, body: nil, to: request, start: start, context: context) else {
                        passOn(bytes, context: context)
                        return
                    }
                }
                answered = true
                bytes.moveReaderIndex(forwardBy: length)
            }
        }
    }

    /// Answers written but not flushed yet: `flushAfterThisTick` will.
    private var flushScheduled = false

    /// Flushes once the event loop has read and answered every connection that was ready in
    /// this tick, not answer by answer: each flush wakes a client, which then competes for
    /// the core this loop runs on, and on two cores that cost a 4 KiB GET a fifth of its CPU
    /// in context switches inside the write. A close or the end of the client's input
    /// flushes at once, so nothing written is dropped.
    private func flushAfterThisTick(context: ChannelHandlerContext) {
        guard !flushScheduled else { return }
        flushScheduled = true
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        context.eventLoop.execute { bound.value.handler.flushNow(context: bound.value.context) }
    }

    private func passOn(_ bytes: ByteBuffer, context: ChannelHandlerContext) {
        passing = true
        context.fireChannelRead(wrapInboundOut(bytes))
    }

    private func fetch(_ read: RemoteRead, head: HTTPResponse, request: HTTPRequest, length: Int, start: UInt64,
                       context: ChannelHandlerContext) {
        waiting = true
        read.start(on: context.eventLoop) { body in
            self.fetched(body, head: head, request: request, length: length, start: start, context: context)
        }
    }

    private func fetched(_ body: ByteBuffer?, head: HTTPResponse, request: HTTPRequest, length: Int, start: UInt64,
                         context: ChannelHandlerContext) {
        waiting = false
        guard context.channel.isActive, var bytes = unread else { unread = nil; return }
        unread = nil
        if let body, write(head, body: body, to: request, start: start, context: context) {
            // Fetches that end together are answered in one tick and flushed after it.
            flushAfterThisTick(context: context)
            bytes.moveReaderIndex(forwardBy: length)
            answer(bytes, context: context)
        } else {
            passOn(bytes, context: context)
        }
        resumeAfterWaiting(context: context)
    }

    /// Relays a long read from the backend's connection to the client's (`RelayedRead`); false,
    /// with nothing started, when every relay is taken.
    private func relay(_ relay: RemoteRelay, head: HTTPResponse, request: HTTPRequest, length: Int, start: UInt64,
                       context: ChannelHandlerContext) -> Bool {
        let started = RelayedRead.start(relay, context: context, writeHead: { leftover in
            self.writeRelayHead(head, leftover: leftover, request: request, start: start, context: context)
        }, ended: { end in
            self.relayed(end, length: length, context: context)
        })
        waiting = started
        return started
    }

    /// Writes and flushes a relay's head and the body bytes that came with the backend's:
    /// true once they are in the socket (NIO completes a write's promise when the kernel took
    /// all of it, after every write before it), false when the head needs the encoder's
    /// framing (nothing written).
    private func writeRelayHead(_ head: HTTPResponse, leftover: ByteBuffer, request: HTTPRequest, start: UInt64,
                                context: ChannelHandlerContext) -> EventLoopFuture<Bool> {
        guard context.channel.isActive else { return context.eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel) }
        let promise = context.eventLoop.makePromise(of: Void.self)
        guard write(head, body: leftover, to: request, start: start, context: context, promise: promise) else {
            promise.succeed()
            return context.eventLoop.makeSucceededFuture(false)
        }
        flushScheduled = false
        context.flush()
        return promise.futureResult.map { true }
    }

    private func relayed(_ end: RelayedRead.End, length: Int, context: ChannelHandlerContext) {
        waiting = false
        guard context.channel.isActive, var bytes = unread else { unread = nil; return }
        unread = nil
        switch end {
        case .declined:
            passOn(bytes, context: context)
        case .done:
            bytes.moveReaderIndex(forwardBy: length)
            answer(bytes, context: context)
        case .failed:
            // The client has a head whose body will not all come: only closing tells it.
            context.close(promise: nil)
            return
        }
        resumeAfterWaiting(context: context)
    }

    /// After a fetch or relay: what was held while waiting goes on.
    private func resumeAfterWaiting(context: ChannelHandlerContext) {
        // What went on, now or after the answer, is delivered on a read's completion.
        if passing { context.fireChannelReadComplete() }
        if !waiting, inputClosedHeld {
            inputClosedHeld = false
            userInboundEventTriggered(context: context, event: ChannelEvent.inputClosed)
        }
        if !waiting, readHeld {
            readHeld = false
            read(context: context)
        }
    }

    /// Writes the answer (not flushed); false, writing nothing, when it needs framing left to the encoder.
    private func write(_ answerHead: HTTPResponse, body: ByteBuffer?, to request: HTTPRequest, start: UInt64,
                       context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil) -> Bool {
        // The common fields follow the answer's own, as `decorate` would add them; an answer
        // that has one of them already (none does today) is decorated instead, in place.
        var (id, fields) = accounting.commonFields(for: request)
        var head = answerHead
        if fields.contains(where: { answerHead.headerFields.contains($0.name) }) {
            (head, id) = accounting.decorate(answerHead, for: request)
            fields = []
        }
        var out = context.channel.allocator.buffer(capacity: 512 + (body?.readableBytes ?? 0))
        guard HTTP1Wire.writeResponseHead(head, extra: fields, into: &out) else { return false }
        // One buffer, one write: a small body costs less to copy than a second iovec.
        if var body { out.writeBuffer(&body) }
        context.write(wrapOutboundOut(.byteBuffer(out)), promise: promise)
        accounting.record(request, status: head.status, start: start, requestID: id)
        return true
    }

    private func flushNow(context: ChannelHandlerContext) {
        if flushScheduled {
            flushScheduled = false
            context.flush()
        }
    }

    /// The end of the client's input goes on only once every request read before it is
    /// answered or passed on: the next stages close a connection whose input ended while they
    /// have nothing in progress, which would drop an answer still being fetched.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard case .inputClosed = event as? ChannelEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        flushNow(context: context)
        if waiting {
            inputClosedHeld = true
            return
        }
        // A head that never completed is left to NIO's decoder, which answers it as malformed.
        if !passing, let bytes = unread {
            unread = nil
            passOn(bytes, context: context)
            context.fireChannelReadComplete()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        flushNow(context: context)
        context.close(mode: mode, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        unread = nil
        context.fireChannelInactive()
    }

    /// What a connection may send ahead while a fetch is in flight and still be read. Not
    /// reading it at all meanwhile made NIO take the socket out of its epoll set and put it
    /// back for every fetched answer: two `epoll_ctl` calls per GET, for clients that send
    /// nothing until they have their answer.
    static let readAheadWhileWaiting = 64 << 10

    /// A client that sends requests without reading the answers is not read until it does.
    func read(context: ChannelHandlerContext) {
        let full = waiting && (unread?.readableBytes ?? 0) >= Self.readAheadWhileWaiting
        if !passing && (full || !context.channel.isWritable) {
            readHeld = true
        } else {
            context.read()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if readHeld && !waiting && context.channel.isWritable {
            readHeld = false
            context.read()
        }
        context.fireChannelWritabilityChanged()
    }
}
