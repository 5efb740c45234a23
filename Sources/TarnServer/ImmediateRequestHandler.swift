import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import NIOCore
import NIOHTTPTypes
import Synchronization
import TarnCore
import TarnAPI
import TarnBlock
import TarnS3

/// A connection's pipeline stage in front of Hummingbird's request handling: plain S3 GETs
/// and HEADs of small objects (`S3Gateway.answerImmediately`) and small PutObjects
/// (`S3Gateway.acceptImmediately`) are answered here, on the event loop that read them; every
/// other request goes on to the router unchanged. Reads reach this stage once `RawReadHandler`,
/// ahead of NIO's decoder, has left the connection to the decoder (after the connection's
/// first request of another kind).
///
/// Responses stay in request order: while a request passed on has not had its response
/// written to the end, later requests (pipelined ones) are passed on too; while bytes are
/// being fetched or relayed (`RelayedRead`) from an S3 backend or an upload waits for its flush
/// to disk, the connection is not read and what was already read waits here. A fetch, relay or
/// upload that fails before its answer began passes its request on (an upload with the body
/// it received), so the router answers it, retries and errors included. An answered request
/// gets what the router's middleware gives any other: `X-Request-Id`, `Date`, `Server`, its
/// request log line and its metrics under the S3 router's route.
final class ImmediateRequestHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let gateway: S3Gateway
    private let accounting: ImmediateAccounting
    /// Requests passed on whose response has not ended yet.
    private var passedOn = 0
    /// The parts of the request being read go on to the router.
    private var forwarding = false
    /// The answer to the request being read, written when its end arrives.
    private var pending: (answer: S3Gateway.ImmediateAnswer, request: HTTPRequest, start: UInt64)?
    /// The upload being read, and its body so far.
    private var collecting: Upload?
    /// A backend fetch or an upload's flush is in flight: inbound parts wait in `held`, and a
    /// read asked for meanwhile (`readHeld`) is made when it ends.
    private var waiting = false
    private var held: [HTTPRequestPart] = []
    private var readHeld = false
    /// The client's input ended while waiting: passed on after the wait.
    private var inputClosedHeld = false

    private struct Upload {
        let put: S3Gateway.ImmediatePut
        let request: HTTPRequest
        let start: UInt64
        var body: ByteBuffer
    }

    init(gateway: S3Gateway, accounting: ImmediateAccounting) {
        self.gateway = gateway
        self.accounting = accounting
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if waiting { held.append(part) } else { handle(part, context: context) }
    }

    private func handle(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
        switch part {
        case let .head(request):
            let start = DispatchTime.now().uptimeNanoseconds
            if passedOn == 0, let answer = gateway.answerImmediately(request, relaying: true) {
                pending = (answer, request, start)
                forwarding = false
            } else if passedOn == 0, let put = gateway.acceptImmediately(request) {
                collecting = Upload(put: put, request: request, start: start, body: context.channel.allocator.buffer(capacity: put.length))
                forwarding = false
                // As the router does (`S3Gateway.respond`): boto3 and the aws CLI wait for it.
                if request.headerFields[.expect] != nil {
                    context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
                }
            } else {
                passOn(part, context: context)
            }
        case let .body(bytes):
            if forwarding {
                context.fireChannelRead(wrapInboundOut(part))
            } else {
                // Bounded: acceptImmediately takes bodies of at most 64 KiB, framed by their length.
                // An answered GET or HEAD has none (answerImmediately takes none).
                collecting?.body.writeImmutableBuffer(bytes)
            }
        case .end:
            if forwarding {
                forwarding = false
                context.fireChannelRead(wrapInboundOut(part))
            } else if let upload = collecting {
                collecting = nil
                store(upload, context: context)
            } else if let (answer, request, start) = pending {
                pending = nil
                switch answer.body {
                case .none: write(answer.head, body: nil, to: request, start: start, context: context)
                case let .bytes(bytes): write(answer.head, body: bytes, to: request, start: start, context: context)
                case let .remote(read): fetch(read, head: answer.head, request: request, start: start, context: context)
                case let .relay(relay): self.relay(relay, head: answer.head, request: request, start: start, context: context)
                }
            }
        }
    }

    /// Passes on a GET or HEAD whose end was read already (it has no body).
    private func passOnBodiless(_ request: HTTPRequest, context: ChannelHandlerContext) {
        passOn(.head(request), context: context)
        handle(.end(nil), context: context)
    }

    private func passOn(_ head: HTTPRequestPart, context: ChannelHandlerContext) {
        passedOn += 1
        forwarding = true
        context.fireChannelRead(wrapInboundOut(head))
    }

    private func fetch(_ read: RemoteRead, head: HTTPResponse, request: HTTPRequest, start: UInt64, context: ChannelHandlerContext) {
        waiting = true
        read.start(on: context.eventLoop) { bytes in
            self.fetched(bytes, head: head, request: request, start: start, context: context)
        }
    }

    private func fetched(_ bytes: ByteBuffer?, head: HTTPResponse, request: HTTPRequest, start: UInt64, context: ChannelHandlerContext) {
        waiting = false
        guard context.channel.isActive else { held = []; return }
        if let bytes {
            write(head, body: bytes, to: request, start: start, context: context)
        } else {
            passOnBodiless(request, context: context)
        }
        resume(context: context)
    }

    /// Relays a long read from the backend's connection to the client's (`RelayedRead`), or
    /// passes the request on when every relay is taken.
    private func relay(_ relay: RemoteRelay, head: HTTPResponse, request: HTTPRequest, start: UInt64, context: ChannelHandlerContext) {
        waiting = RelayedRead.start(relay, context: context, writeHead: { leftover in
            let (decorated, id) = self.accounting.decorate(head, for: request)
            let written = context.eventLoop.makePromise(of: Void.self)
            context.write(self.wrapOutboundOut(.head(decorated)), promise: leftover.readableBytes > 0 ? nil : written)
            if leftover.readableBytes > 0 { context.write(self.wrapOutboundOut(.body(leftover)), promise: written) }
            context.flush()
            self.accounting.record(request, status: decorated.status, start: start, requestID: id)
            return written.futureResult.map { true }
        }, ended: { end in
            self.relayed(end, request: request, context: context)
        })
        if !waiting {
            passOnBodiless(request, context: context)
        }
    }

    private func relayed(_ end: RelayedRead.End, request: HTTPRequest, context: ChannelHandlerContext) {
        waiting = false
        guard context.channel.isActive else { held = []; return }
        switch end {
        case .declined:
            passOnBodiless(request, context: context)
        case .done:
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        case .failed:
            // The client has a head whose body will not all come: only closing tells it.
            held = []
            context.close(promise: nil)
            return
        }
        resume(context: context)
    }

    private func store(_ upload: Upload, context: ChannelHandlerContext) {
        let loop = context.eventLoop
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: loop)
        waiting = upload.put.store(upload.body) { result in
            loop.execute { bound.value.handler.stored(result, upload, context: bound.value.context) }
        }
        if !waiting { replay(upload, context: context) }
    }

    private func stored(_ result: Result<StoredObject, BlockStoreError>, _ upload: Upload, context: ChannelHandlerContext) {
        waiting = false
        // Staged even when the client has gone: the bytes are durable, as on the router's path.
        let head = try? upload.put.stage(result.get())
        guard context.channel.isActive else { held = []; return }
        if let head {
            write(head, body: nil, to: upload.request, start: upload.start, context: context)
        } else {
            replay(upload, context: context)
        }
        resume(context: context)
    }

    /// Passes an upload this handler could not finish on to the router, body and all. The
    /// client already had its `100 Continue`: the router must not send a second.
    private func replay(_ upload: Upload, context: ChannelHandlerContext) {
        var request = upload.request
        request.headerFields[.expect] = nil
        passOn(.head(request), context: context)
        if upload.body.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(.body(upload.body))) }
        handle(.end(nil), context: context)
    }

    /// The end of the client's input waits with the requests read before it: passed on while a
    /// fetch or an upload is in flight, it would have the connection closed under its answer.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if waiting, case .inputClosed = event as? ChannelEvent {
            inputClosedHeld = true
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    /// After a fetch or an upload: handles what arrived meanwhile, and reads on.
    private func resume(context: ChannelHandlerContext) {
        while !waiting, !held.isEmpty { handle(held.removeFirst(), context: context) }
        // What went on to the router is delivered on a read's completion.
        context.fireChannelReadComplete()
        if !waiting, inputClosedHeld {
            inputClosedHeld = false
            context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        }
        if !waiting, readHeld {
            readHeld = false
            context.read()
        }
    }

    func read(context: ChannelHandlerContext) {
        if waiting { readHeld = true } else { context.read() }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { passedOn -= 1 }
        context.write(data, promise: promise)
    }

    private func write(_ answerHead: HTTPResponse, body: ByteBuffer?, to request: HTTPRequest, start: UInt64, context: ChannelHandlerContext) {
        let (head, id) = accounting.decorate(answerHead, for: request)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if let body { context.write(wrapOutboundOut(.body(body)), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        accounting.record(request, status: head.status, start: start, requestID: id)
    }
}
