import CCurl
import CLinuxShims
import Foundation
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// A large GET whose body Tarn receives itself, into buffers that go on to the client as they
/// are. Through curl's own transfer every byte was copied once more, from curl's buffer into
/// the channel's (an eighth of Tarn's CPU on a 1 GiB GET, the only copy in user space).
/// Here curl makes the connection (`CURLOPT_CONNECT_ONLY`: name lookup, TCP, TLS and their
/// timeouts), the signed request goes out with `curl_easy_send`, and `curl_easy_recv` reads
/// into the writable bytes of the next NIO buffer.
///
/// Only the answer the read was made for is taken: 200 (206 for a range) with a
/// Content-Length of the expected size and no other framing. Anything else — an error status,
/// chunked framing, a failure before that head — is declined with nothing written to the
/// channel, and the caller makes the ordinary transfer, which retries and reports the
/// backend's error as every other request does.
///
/// The connection is made by a blocking `curl_easy_perform` on a Dispatch thread, on a handle
/// of its own: in the multi handle's shared cache curl would close it as dead the next time it
/// pruned, because an idle connection with bytes waiting is dead to it. The rest runs on the
/// curl thread, which watches the socket with the transfers' sockets (`CurlClient`).
final class CurlDownload: @unchecked Sendable {
    enum End: Sendable {
        case done
        /// Nothing was written to the channel: the caller may make the request another way.
        case declined
        case failed(String)
    }

    let call: HTTPCall
    let channel: ByteChannel
    private let onAnswer: @Sendable () -> Void
    let ended: @Sendable (End) -> Void
    /// Set before the curl thread takes the download over, then touched only there.
    private(set) var handle: UnsafeMutableRawPointer?
    private(set) var socket: Int32 = -1
    /// Body bytes still to come; nil while the head is read.
    private var remaining: Int64?
    /// Whether the head was taken (the body is being read).
    var answered: Bool { remaining != nil }
    private let length: Int64
    private var head: [UInt8] = []
    /// A buffer whose read found nothing yet, kept for the next one.
    private var spare: ByteBuffer?
    private let allocator = ByteBufferAllocator()
    /// Waiting for the reader to make room (the socket is not watched meanwhile).
    var paused = false
    /// When a byte last arrived (or the reader last made room), for the stall timeout.
    var lastProgress = DispatchTime.now().uptimeNanoseconds

    /// The largest head taken; a longer one is declined.
    static let maxHead = 16 << 10
    /// Reads go into buffers of what the socket holds, within these bounds.
    static let minBuffer = 64 << 10, maxBuffer = 1 << 20

    init(call: HTTPCall, length: Int64, channel: ByteChannel, answered: @escaping @Sendable () -> Void,
         ended: @escaping @Sendable (End) -> Void) {
        self.call = call
        self.length = length
        self.channel = channel
        self.onAnswer = answered
        self.ended = ended
    }

    /// Connects and sends the request, blocking (on a Dispatch thread); false when either
    /// failed, and the download is then declined.
    func connect(timeout: Double) -> Bool {
        guard let h = CurlConnection.open(call.url, timeout: timeout, receiveBuffer: Self.maxBuffer) else { return false }
        handle = h
        socket = tarn_curl_active_socket(h)
        let request = Array(call.requestHead.utf8)
        var sent = 0
        while sent < request.count {
            var n = 0
            let code = request.withUnsafeBytes { curl_easy_send(h, $0.baseAddress! + sent, $0.count - sent, &n) }
            if code == CURLE_OK { sent += n; continue }
            var ready = pollfd(fd: socket, events: Int16(POLLOUT), revents: 0)
            guard code == CURLE_AGAIN, poll(&ready, 1, Int32(timeout * 1000)) == 1 else { return false }
        }
        return true
    }

    /// Closes the connection (curl's handle owns it).
    func close() {
        if let h = handle { curl_easy_cleanup(h) }
        handle = nil
    }

    /// On the curl thread, when the socket is readable or the reader made room: reads what
    /// is there. Returns the end, or nil to wait (for the socket, or for the reader when
    /// `paused`).
    func step(wake: @escaping @Sendable () -> Void) -> End? {
        guard let h = handle else { return .declined }
        if remaining == nil {
            if let end = readHead(h) { return end }
            if remaining == nil { return nil }
            onAnswer()
        }
        return readBody(h, wake: wake)
    }

    private func readHead(_ h: UnsafeMutableRawPointer) -> End? {
        var piece = [UInt8](repeating: 0, count: Self.maxHead)
        while true {
            var n = 0
            let code = piece.withUnsafeMutableBytes { curl_easy_recv(h, $0.baseAddress, $0.count, &n) }
            if code == CURLE_AGAIN { return nil }
            guard code == CURLE_OK, n > 0 else { return .declined }
            head += piece[0..<n]
            lastProgress = DispatchTime.now().uptimeNanoseconds
            if let (response, bodyStart) = head.withUnsafeBytes(ResponseHead.read) {
                let leftover = head.count - bodyStart
                let taken = response?.frames(length: length, ranged: call.headers["range"] != nil)
                guard taken == true, leftover <= length else { return .declined }
                remaining = length - Int64(leftover)
                if leftover > 0 { channel.write(chunk: ByteBuffer(bytes: head[bodyStart...])) }
                head = []
                return nil
            }
            guard head.count < Self.maxHead else { return .declined }
        }
    }

    private func readBody(_ h: UnsafeMutableRawPointer, wake: @escaping @Sendable () -> Void) -> End? {
        while let left = remaining, left > 0 {
            switch channel.reserve(wake: wake) {
            case .full: paused = true; return nil
            case .closed: return .failed("the reader has gone")
            case .queued: break
            }
            // A buffer the size of what waits, so that a short read does not hold a large
            // buffer's memory while it is queued (the channel counts bytes, not capacity).
            let waiting = Int(tarn_socket_pending(socket))
            let size = Int(min(left, Int64(min(max(waiting, Self.minBuffer), Self.maxBuffer))))
            var buffer: ByteBuffer
            if let kept = spare, kept.capacity >= size { buffer = kept } else { buffer = allocator.buffer(capacity: size) }
            spare = nil
            var n = 0
            let code = buffer.withUnsafeMutableWritableBytes { curl_easy_recv(h, $0.baseAddress, min($0.count, Int(left)), &n) }
            if code == CURLE_AGAIN { spare = buffer; return nil }
            guard code == CURLE_OK else { return .failed(String(cString: curl_easy_strerror(code))) }
            guard n > 0 else { return .failed("the backend closed the connection \(left) bytes before the end") }
            buffer.moveWriterIndex(forwardBy: n)
            remaining = left - Int64(n)
            lastProgress = DispatchTime.now().uptimeNanoseconds
            channel.write(chunk: buffer)
        }
        return .done
    }
}
