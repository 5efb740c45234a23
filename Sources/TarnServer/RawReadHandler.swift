import Foundation
import HTTPTypes
import NIOCore
import TarnS3

/// The first stage of a connection's pipeline, ahead of NIO's HTTP decoder: plain signed GETs
/// and HEADs of small local objects (`HTTP1Wire` reads the head, `S3Gateway.answerImmediately`
/// answers it) are answered from the connection's bytes, and their responses written as bytes.
/// A 4 KiB GET spent about a fifth of the server's time in the HTTP/1 decoder, the conversions
/// to and from HTTP types and the response encoder; here it spends a little of it.
///
/// The first request this stage does not answer — another operation, a body, anything the
/// narrow parser refuses, an object kept in S3, an error — goes on to NIO's decoder with every
/// byte after it, and so does the rest of the connection: from then on the decoder keeps state
/// (a body being read, a pipelined request half-parsed) that bytes cannot be taken from.
/// The requests answered here get what the router's answers get (`ImmediateAccounting`).
final class RawReadHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private let gateway: S3Gateway
    private let accounting: ImmediateAccounting
    /// Bytes go on to the decoder unread.
    private var passing = false
    /// The start of a request head that has not all arrived.
    private var partial: ByteBuffer?
    /// A read the pipeline asked for while the connection could not take more output.
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
        if var earlier = partial {
            partial = nil
            earlier.writeBuffer(&bytes)
            bytes = earlier
        }
        var answered = false
        defer { if answered { context.flush() } }
        while bytes.readableBytes > 0 {
            switch HTTP1Wire.parseRequestHead(bytes) {
            case .incomplete:
                partial = bytes
                return
            case .unsupported:
                passOn(bytes, context: context)
                return
            case let .head(request, length):
                let start = DispatchTime.now().uptimeNanoseconds
                guard let answer = gateway.answerImmediately(request, localOnly: true), write(answer, to: request, start: start, context: context) else {
                    passOn(bytes, context: context)
                    return
                }
                answered = true
                bytes.moveReaderIndex(forwardBy: length)
            }
        }
    }

    private func passOn(_ bytes: ByteBuffer, context: ChannelHandlerContext) {
        passing = true
        context.fireChannelRead(wrapInboundOut(bytes))
    }

    /// Writes the answer (not flushed); false, writing nothing, when it needs framing left to the encoder.
    private func write(_ answer: S3Gateway.ImmediateAnswer, to request: HTTPRequest, start: UInt64, context: ChannelHandlerContext) -> Bool {
        let body: ByteBuffer?
        switch answer.body {
        case .none: body = nil
        case let .bytes(bytes): body = bytes
        case .remote: return false
        }
        let (head, id) = accounting.decorate(answer.head, for: request)
        var out = context.channel.allocator.buffer(capacity: 512 + (body?.readableBytes ?? 0))
        guard HTTP1Wire.writeResponseHead(head, into: &out) else { return false }
        // One buffer, one write: a small body costs less to copy than a second iovec.
        if var body { out.writeBuffer(&body) }
        context.write(wrapOutboundOut(.byteBuffer(out)), promise: nil)
        accounting.record(request, status: head.status, start: start, requestID: id)
        return true
    }

    func channelInactive(context: ChannelHandlerContext) {
        partial = nil
        context.fireChannelInactive()
    }

    /// A client that sends requests without reading the answers is not read until it does.
    func read(context: ChannelHandlerContext) {
        if !passing && !context.channel.isWritable {
            readHeld = true
        } else {
            context.read()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if readHeld && context.channel.isWritable {
            readHeld = false
            context.read()
        }
        context.fireChannelWritabilityChanged()
    }
}
