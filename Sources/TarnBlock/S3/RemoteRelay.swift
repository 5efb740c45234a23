import CLinuxShims
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A large read of bytes kept in S3 behind a plain-HTTP endpoint, moved from the backend's
/// socket to the client's inside the kernel (splice(2) through a pipe). Streamed through
/// buffers, every byte of a 1 GiB GET was copied twice by Tarn — received from the backend,
/// then written to the client — and those two copies were most of Tarn's CPU for it: on two
/// cores shared with the backend that kept the GET through Tarn near 0.7 of a direct one.
///
/// The server owns the client's connection; it asks for a relay (`S3BlockStore.prepareRelay`),
/// opens it on a thread of its own (`open`, blocking), writes the response head and the body
/// bytes that came with the backend's head, and once they are out hands `RelaySource.relay`
/// a descriptor of the client's socket. As with `RemoteRead`, only the answer the read asked
/// for is taken (200, or 206 for a range, with the read's Content-Length); anything else is
/// declined before the client saw a byte, and the caller takes the path that retries and
/// reports the backend's error.
public struct RemoteRelay: Sendable {
    let client: S3Client
    let request: S3Client.Request
    /// The body's length.
    public let length: Int64

    /// Relays that may run at once, each on a thread: a read beyond them streams as before.
    static let most = 32
    private static let running = Atomic<Int>(0)

    /// Claims one of the `most` relays; false when all are running. The claimer gives it back
    /// with `release` once the relay is over (or was never opened).
    public static func claim() -> Bool {
        if running.add(1, ordering: .relaxed).newValue <= most { return true }
        release()
        return false
    }

    public static func release() { running.subtract(1, ordering: .relaxed) }

    /// Relays claimed and not given back yet.
    public static var inFlight: Int { running.load(ordering: .relaxed) }

    /// Connects (curl makes the connection), sends the signed GET and reads the answer's head,
    /// blocking: run it on a thread that may wait. Nil when the connection failed or the
    /// answer is not the read's body.
    public func open() -> RelaySource? {
        let call = client.signed(request)
        let timeout = client.settings.connectTimeout, stall = client.settings.stallTimeout
        let socket = CurlConnection.socket(call.url, timeout: timeout)
        guard socket >= 0 else { return nil }
        var source: RelaySource?
        defer { if source == nil { close(socket) } }
        let request = Array(call.requestHead.utf8)
        guard request.withUnsafeBytes({ RelaySource.send($0, to: socket, stall: stall) }) else { return nil }
        var head: [UInt8] = []
        var piece = [UInt8](repeating: 0, count: 16 << 10)
        while head.count < 16 << 10 {
            let n = piece.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if n < 0, errno == EAGAIN || errno == EINTR {
                guard RelaySource.wait(socket, for: Int16(POLLIN), stall: stall) else { return nil }
                continue
            }
            guard n > 0 else { return nil }
            head += piece[..<n]
            guard let (response, bodyStart) = head.withUnsafeBytes(ResponseHead.read) else { continue }
            let framed = response?.frames(length: length, ranged: call.headers["range"] != nil)
            let leftover = Array(head[bodyStart...])
            guard framed == true, leftover.count <= length else { return nil }
            source = RelaySource(socket: socket, leftover: leftover, remaining: length - Int64(leftover.count), stall: stall)
            return source
        }
        return nil
    }
}

/// The backend's answer to a `RemoteRelay` with its head read: what of the body came with the
/// head, and the connection the rest is to come from (closed on deinit).
public final class RelaySource: @unchecked Sendable {
    /// Body bytes that arrived with the head: the caller writes them before the relay.
    public let leftover: [UInt8]
    private let socket: Int32
    private var remaining: Int64
    private let stall: Double

    public enum End: Sendable, Equatable {
        case done
        /// The client's connection failed or closed: it may have part of the body.
        case clientGone
        /// The backend's connection failed, closed or stalled before the body's end.
        case backendFailed(String)
    }

    /// The most a pipe is asked to hold (Linux's default cap for unprivileged processes).
    static let pipeSize: Int32 = 1 << 20
    /// What the backend's socket must hold before it wakes the relay (`SO_RCVLOWAT`).
    static let wakeAfter: Int64 = 256 << 10

    fileprivate init(socket: Int32, leftover: [UInt8], remaining: Int64, stall: Double) {
        self.socket = socket
        self.leftover = leftover
        self.remaining = remaining
        self.stall = stall
    }

    deinit {
        close(socket)
    }

    /// Moves the rest of the body to `destination` (a connected socket, which is not closed),
    /// blocking until it is all there or one side failed. The backend may stall for the
    /// settings' stall timeout; a client that reads slowly is waited for as long as its
    /// connection lives, the backend connection holding its place meanwhile.
    public func relay(to destination: Int32) -> End {
        var pipeEnds: [Int32] = [-1, -1]
        guard pipe(&pipeEnds) == 0 else { return .backendFailed("no pipe: \(String(cString: strerror(errno)))") }
        defer { close(pipeEnds[0]); close(pipeEnds[1]) }
        let capacity = Int64(max(tarn_set_pipe_size(pipeEnds[1], Self.pipeSize), 64 << 10))
        var inPipe: Int64 = 0
        var backendEnded = false
        var lowWater: Int64 = 1
        while remaining > 0 {
            var waitFor: Int16 = 0
            if !backendEnded, inPipe < capacity, inPipe < remaining {
                let n = tarn_splice(socket, pipeEnds[1], min(capacity - inPipe, remaining - inPipe), 1)
                if n > 0 {
                    inPipe += n
                } else if n == 0 {
                    backendEnded = true
                } else if errno == EAGAIN || errno == EINTR {
                    waitFor |= Int16(POLLIN)
                } else {
                    return .backendFailed(String(cString: strerror(errno)))
                }
            }
            if inPipe > 0 {
                let n = tarn_splice(pipeEnds[0], destination, inPipe, inPipe < remaining ? 1 : 0)
                if n > 0 {
                    inPipe -= n
                    remaining -= n
                    continue
                } else if n < 0, errno == EAGAIN || errno == EINTR {
                    waitFor = Int16(POLLOUT)
                } else {
                    return .clientGone
                }
            } else if backendEnded {
                return .backendFailed("the backend closed the connection \(remaining) bytes before the end")
            }
            if waitFor == Int16(POLLOUT) {
                // The client first: the pipe holds bytes only it can take.
                guard Self.wait(destination, for: waitFor, stall: nil) else { return .clientGone }
            } else if waitFor != 0 {
                // Woken only once a run of bytes waits, not for every segment: on cores the
                // backend shares, each wake-up is a context switch taken from it. Never more
                // than the body has left, or the last bytes would not wake it at all.
                let wanted = min(Self.wakeAfter, remaining - inPipe)
                if wanted != lowWater {
                    var value = Int32(wanted)
                    if setsockopt(socket, SOL_SOCKET, SO_RCVLOWAT, &value, socklen_t(MemoryLayout<Int32>.size)) == 0 { lowWater = wanted }
                }
                guard waitForBackend() else {
                    return .backendFailed("the backend's connection failed or sent nothing for \(Int(stall)) s, \(remaining) bytes before the end")
                }
            }
        }
        return .done
    }

    /// Waits until the backend's socket holds its low-water mark, or less once nothing more
    /// came for a tenth of a second (a slow backend still gets its bytes through); false when
    /// nothing came for the stall timeout or the connection failed.
    private func waitForBackend() -> Bool {
        var waited = 0.0
        while waited < stall {
            var ready = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            let n = poll(&ready, 1, 100)
            if n < 0, errno != EINTR { return false }
            // Readable, failed or hung up (the next splice says which), or short of the mark.
            if n == 1 || tarn_socket_pending(socket) > 0 { return true }
            waited += 0.1
        }
        return false
    }

    /// Writes all of `bytes` to the non-blocking `socket`; false when it failed or stalled.
    static func send(_ bytes: UnsafeRawBufferPointer, to socket: Int32, stall: Double?) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = Glibc.send(socket, bytes.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL))
            if n > 0 { sent += n; continue }
            guard n < 0, errno == EAGAIN || errno == EINTR, wait(socket, for: Int16(POLLOUT), stall: stall) else { return false }
        }
        return true
    }

    /// Waits until `socket` is ready for `events`; false on a timeout after `stall` seconds
    /// (none when nil) or when the connection failed or hung up with nothing left to read.
    static func wait(_ socket: Int32, for events: Int16, stall: Double?) -> Bool {
        var ready = pollfd(fd: socket, events: events, revents: 0)
        while true {
            let n = poll(&ready, 1, stall.map { Int32(min($0 * 1000, Double(Int32.max))) } ?? -1)
            if n < 0, errno == EINTR { continue }
            guard n == 1 else { return false }
            // A hang-up with bytes still to read is reported as readable too: the read says.
            return ready.revents & events != 0 || ready.revents & Int16(POLLHUP) != 0 && events == Int16(POLLIN)
        }
    }
}
