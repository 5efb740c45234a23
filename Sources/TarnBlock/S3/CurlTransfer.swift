import CCurl
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One HTTP exchange with the backend, as libcurl runs it.
struct HTTPCall: Sendable {
    enum Body: Sendable {
        case empty
        /// Held in memory (XML documents, small objects): can be sent again on a retry.
        case bytes([UInt8])
        /// Written by a task while curl sends it: cannot be replayed once bytes were read.
        case stream(ByteChannel, length: Int64)
        /// A slice of an open file (a spooled part): can be sent again.
        case file(fd: Int32, offset: Int64, length: Int64)

        var length: Int64 {
            switch self {
            case .empty: return 0
            case let .bytes(b): return Int64(b.count)
            case let .stream(_, n), let .file(_, _, n): return n
            }
        }
    }

    var method: String
    /// `scheme://host[:port]`, and the request target that follows it in the URL (the encoded
    /// path and query): kept apart for `CurlDownload`, which writes the request line itself.
    var origin: String
    var target: String
    var url: String { origin + target }
    /// Lower-case names; `host` is sent as given (it is signed).
    var headers: [String: String]
    var body: Body = .empty

    /// The request line and fields, for a request Tarn writes itself (they hold the signed `host`).
    var requestHead: String {
        var text = "\(method) \(target.isEmpty ? "/" : target) HTTP/1.1\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        return text + "\r\n"
    }
}

/// What came back: status, lower-case headers and (unless streamed) the body.
struct HTTPReply: Sendable {
    var status: Int
    var headers: [String: String]
    var body: [UInt8]
}

/// A transfer failure below HTTP (refused connection, reset, stall), with curl's words.
struct CurlFailure: Error, CustomStringConvertible {
    var code: Int
    var message: String
    var description: String { message }
}

/// Runs HTTP calls through one libcurl multi handle, driven by a thread of its own with
/// `curl_multi_socket_action` over an epoll set: every transfer of the client shares that
/// thread and its one wait, and only transfers whose sockets are ready are run, so a request
/// costs no thread hand-off of its own beyond queueing it and being told it is done (one
/// blocking thread per transfer spent more of the server's CPU switching threads than
/// forwarding bytes; `curl_multi_perform` polled every socket on every turn). Callbacks never
/// wait: a streamed body that has no data or no room pauses its transfer
/// (`CURL_READFUNC_PAUSE` / `CURL_WRITEFUNC_PAUSE`), and the `ByteChannel` wakes it when the
/// task side has caught up, which is the back-pressure in both directions. Connections live
/// in the multi handle's cache and are reused across transfers.
final class CurlClient: @unchecked Sendable {
    let connectTimeout: Double
    let stallTimeout: Double
    private let multi: UnsafeMutableRawPointer
    private let epoll: Int32
    /// Written to wake the curl thread when work is queued.
    private let wakeup: Int32
    /// Work handed to the curl thread (guarded by `lock`): transfers to start, paused ones
    /// to resume.
    private var starting: [Transfer] = []
    private var resuming: [Transfer] = []
    private var adopting: [CurlDownload] = []
    private var resumingDownloads: [CurlDownload] = []
    /// Whether the wake-up was signalled since the thread last took the queues: the work
    /// queued after that one signal is taken with it, so it needs no write of its own (the
    /// way NIO's event loops coalesce their own wake-ups).
    private var wakePending = false
    private let lock = NSLock()
    /// Owned by the curl thread: transfers in progress by easy handle, idle easy handles
    /// (configured, by buffer size: see `begin`), and when curl wants to be called for its
    /// timeouts (nil: no timer).
    private var running: [UnsafeMutableRawPointer: Transfer] = [:]
    /// Large GETs whose body Tarn receives itself, by socket (see `CurlDownload`).
    private var downloads: [Int32: CurlDownload] = [:]
    private var idle: [UnsafeMutableRawPointer] = []
    private var idleLarge: [UnsafeMutableRawPointer] = []
    /// The sockets in the epoll set (curl says when to add and remove them).
    private var watched: Set<Int32> = []
    fileprivate var timerDeadline: UInt64?
    /// What one wait reports (descriptors and curl's readiness flags), kept between turns.
    private var readyFDs = [Int32](repeating: 0, count: 64), readyFlags = [Int32](repeating: 0, count: 64)

    /// Backend connections kept open between transfers.
    static let maxIdleConnections = 256

    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_ALL)) }()

    /// Fails (as `BlockStoreError.unavailable`) when the process is out of descriptors or
    /// memory: the server then refuses to start with that reason instead of trapping.
    init(connectTimeout: Double, stallTimeout: Double) throws {
        _ = Self.globalInit
        guard let multi = curl_multi_init() else { throw BlockStoreError.unavailable("curl_multi_init failed") }
        let epoll = tarn_epoll_create()
        guard epoll >= 0 else {
            let code = errno
            curl_multi_cleanup(multi)
            throw BlockStoreError.unavailable("epoll_create1 failed: errno \(code)")
        }
        let wakeup = tarn_wakeup_create(epoll)
        guard wakeup >= 0 else {
            let code = errno
            close(epoll)
            curl_multi_cleanup(multi)
            throw BlockStoreError.unavailable("eventfd failed: errno \(code)")
        }
        self.connectTimeout = connectTimeout
        self.stallTimeout = stallTimeout
        self.multi = multi
        self.epoll = epoll
        self.wakeup = wakeup
        tarn_curl_multi_callbacks(multi, socketCallback, timerCallback, Unmanaged.passUnretained(self).toOpaque())
        // Keep-alive connections to the backend stay open through lulls: with curl's default
        // (4 per transfer in progress) 32 clients' GETs closed and reopened one backend
        // connection per ~34 requests.
        tarn_curl_multi_max_connections(multi, Self.maxIdleConnections)
        // The thread holds the client only while it works, so a client nobody uses any more
        // (and that has no transfer left, each of which holds it) ends its thread.
        let thread = Thread { [weak self] in
            while let client = self { client.turn() }
        }
        thread.name = "tarn-curl"
        thread.start()
    }

    deinit {
        for h in idle + idleLarge { curl_easy_cleanup(h) }
        curl_multi_cleanup(multi)
        close(wakeup)
        close(epoll)
    }

    /// Performs `call`. When `stream` is given, a 2xx body goes there (and `onHeaders` is told
    /// the status first, on the curl thread); any other body is collected.
    func perform(_ call: HTTPCall, stream: ByteChannel? = nil,
                 onHeaders: (@Sendable (Int, [String: String]) -> Void)? = nil) async -> Result<HTTPReply, CurlFailure> {
        await withCheckedContinuation { (c: CheckedContinuation<Result<HTTPReply, CurlFailure>, Never>) in
            start(call, stream: stream, onHeaders: onHeaders) { c.resume(returning: $0) }
        }
    }

    /// Starts `call` and returns at once; `complete` is called on the curl thread when it ends.
    func start(_ call: HTTPCall, stream: ByteChannel? = nil, onHeaders: (@Sendable (Int, [String: String]) -> Void)? = nil,
               complete: @escaping @Sendable (Result<HTTPReply, CurlFailure>) -> Void) {
        let transfer = Transfer(client: self, call: call, stream: stream, onHeaders: onHeaders, complete: complete)
        let signal = lock.withLock { starting.append(transfer); return takeWake() }
        if signal { tarn_wakeup_signal(wakeup) }
    }

    /// Asks the curl thread to resume `transfer` (from a channel's wake-up, any thread).
    fileprivate func resume(_ transfer: Transfer) {
        let signal = lock.withLock { resuming.append(transfer); return takeWake() }
        if signal { tarn_wakeup_signal(wakeup) }
    }

    /// Reads the 2xx body of the GET `call`, `length` bytes, into `channel` through a
    /// connection of its own (see `CurlDownload`). `answered` is called once its head is
    /// taken; `ended` is called once, on the curl thread or a Dispatch thread: `.declined`
    /// means nothing reached the channel.
    func download(_ call: HTTPCall, length: Int64, into channel: ByteChannel, answered: @escaping @Sendable () -> Void,
                  ended: @escaping @Sendable (CurlDownload.End) -> Void) {
        let download = CurlDownload(call: call, length: length, channel: channel, answered: answered, ended: ended)
        let timeout = connectTimeout
        DispatchQueue.global().async { [self] in
            guard download.connect(timeout: timeout) else {
                download.close()
                return ended(.declined)
            }
            let signal = lock.withLock { adopting.append(download); return takeWake() }
            if signal { tarn_wakeup_signal(wakeup) }
        }
    }

    /// Asks the curl thread to go on with `download` once its reader made room.
    private func resume(_ download: CurlDownload) {
        let signal = lock.withLock { resumingDownloads.append(download); return takeWake() }
        if signal { tarn_wakeup_signal(wakeup) }
    }

    /// Whether the caller, having queued work, must signal the wake-up. Called with the lock held.
    private func takeWake() -> Bool {
        if wakePending { return false }
        wakePending = true
        return true
    }

    // MARK: the curl thread

    fileprivate func watch(_ socket: Int32, _ what: Int32) {
        // curl moves a transfer's socket from out to in and removes it when the transfer ends;
        // trying a change before an add spent a failed syscall on every transfer.
        // (curl says remove before it closes a socket; were an entry ever stale, its number
        // reused, the call after a failed one still does it.)
        let remove = what == CURL_POLL_REMOVE
        tarn_epoll_watch(epoll, socket, what, remove || watched.contains(socket) ? 1 : 0)
        if remove { watched.remove(socket) } else { watched.insert(socket) }
    }

    /// One turn of the curl thread: start and resume what was asked for, wait for a socket,
    /// curl's timer or a wake-up, run what is ready and hand over the transfers that ended.
    private func turn() {
        var active: Int32 = 0
        let (start, resume, adopt, resumeDownloads) = lock.withLock { () -> ([Transfer], [Transfer], [CurlDownload], [CurlDownload]) in
            defer {
                starting.removeAll(keepingCapacity: true)
                resuming.removeAll(keepingCapacity: true)
                adopting.removeAll()
                resumingDownloads.removeAll()
            }
            wakePending = false
            return (starting, resuming, adopting, resumingDownloads)
        }
        for transfer in start { begin(transfer) }
        for transfer in resume {
            // A wake-up may arrive after its transfer ended and its handle went to another.
            guard let h = transfer.handle, running[h] === transfer else { continue }
            curl_easy_pause(h, CURLPAUSE_CONT)
        }
        for download in adopt {
            downloads[download.socket] = download
            tarn_epoll_watch(epoll, download.socket, CURL_POLL_IN, 0)
            advance(download)
        }
        for download in resumeDownloads where downloads[download.socket] === download && download.paused {
            download.paused = false
            download.lastProgress = DispatchTime.now().uptimeNanoseconds
            tarn_epoll_watch(epoll, download.socket, CURL_POLL_IN, 1)
            advance(download)
        }
        var timeout: Int32 = 1000
        if let deadline = timerDeadline {
            let now = DispatchTime.now().uptimeNanoseconds
            timeout = deadline <= now ? 0 : Int32(min(1000, (deadline - now + 999_999) / 1_000_000))
        }
        let ready = tarn_epoll_wait(epoll, &readyFDs, &readyFlags, timeout)
        for i in 0..<max(0, Int(ready)) {
            if readyFDs[i] == wakeup { tarn_wakeup_drain(wakeup); continue }
            if let download = downloads[readyFDs[i]] { advance(download); continue }
            curl_multi_socket_action(multi, readyFDs[i], readyFlags[i], &active)
        }
        if !downloads.isEmpty { endStalledDownloads() }
        if let deadline = timerDeadline, deadline <= DispatchTime.now().uptimeNanoseconds {
            timerDeadline = nil
            curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &active)
        }
        var left: Int32 = 0
        while let message = curl_multi_info_read(multi, &left) {
            guard message.pointee.msg == CURLMSG_DONE, let h = message.pointee.easy_handle else { continue }
            finish(h, code: message.pointee.data.result)
        }
    }

    /// Goes on with `download`, and ends it when it is done.
    private func advance(_ download: CurlDownload) {
        guard let end = download.step(wake: { [self] in resume(download) }) else {
            // Full: the socket is not watched until the reader has made room.
            if download.paused { tarn_epoll_watch(epoll, download.socket, 0, 1) }
            return
        }
        finish(download, end)
    }

    private func finish(_ download: CurlDownload, _ end: CurlDownload.End) {
        downloads[download.socket] = nil
        tarn_epoll_watch(epoll, download.socket, CURL_POLL_REMOVE, 1)
        download.close()
        download.ended(end)
    }

    /// Ends the downloads that received nothing for the stall timeout while their reader was
    /// waiting for bytes (a paused one waits on its reader, as curl's paused transfers do).
    private func endStalledDownloads() {
        let now = DispatchTime.now().uptimeNanoseconds, limit = UInt64(stallTimeout * 1e9)
        for download in downloads.values where !download.paused && now - download.lastProgress > limit {
            // Before the head, the caller's ordinary transfer reports it as curl's stalls are.
            finish(download, download.answered ? .failed("no byte arrived for \(Int(stallTimeout)) s") : .declined)
        }
    }

    /// Idle handles kept, small and large: a large one holds curl's two 1 MiB buffers.
    static let idleHandles = 64, idleLargeHandles = 8

    /// Whether `transfer` moves a body big enough for 1 MiB buffers: fewer callbacks and
    /// syscalls per MB. Not every small call: its handle would hold them while idle.
    private static func large(_ transfer: Transfer) -> Bool {
        transfer.stream != nil || transfer.call.body.length > 1 << 20
    }

    /// Takes an idle handle of the transfer's size (or makes one, configured once for all
    /// its transfers), sets what is the transfer's own and starts it. Handles are reused as
    /// they are, not reset: a reset dropped curl's buffers and strings and ~20 options that
    /// were set again for the next transfer, a sixth of the curl thread's allocations.
    private func begin(_ transfer: Transfer) {
        let large = Self.large(transfer)
        let h: UnsafeMutableRawPointer
        if let reused = large ? idleLarge.popLast() : idle.popLast() {
            h = reused
        } else {
            h = curl_easy_init()!
            configureOnce(h, large: large)
        }
        transfer.handle = h
        configure(h, for: transfer)
        running[h] = transfer
        curl_multi_add_handle(multi, h)
    }

    private func finish(_ h: UnsafeMutableRawPointer, code: CURLcode) {
        curl_multi_remove_handle(multi, h)
        guard let transfer = running.removeValue(forKey: h) else { return }
        let outcome: Result<HTTPReply, CurlFailure>
        if let failure = transfer.failure {
            outcome = .failure(CurlFailure(code: -1, message: failure))
        } else if code != CURLE_OK {
            outcome = .failure(CurlFailure(code: Int(code.rawValue), message: String(cString: curl_easy_strerror(code))))
        } else {
            outcome = .success(HTTPReply(status: tarn_curl_response_code(h), headers: transfer.headers, body: transfer.collected))
        }
        // The header list is freed with its transfer: the handle must not point at it.
        tarn_curl_setopt_slist(h, CURLOPT_HTTPHEADER, nil)
        if Self.large(transfer) {
            if idleLarge.count < Self.idleLargeHandles { idleLarge.append(h) } else { curl_easy_cleanup(h) }
        } else {
            if idle.count < Self.idleHandles { idle.append(h) } else { curl_easy_cleanup(h) }
        }
        transfer.handle = nil
        transfer.complete(outcome)
    }

    /// What every transfer of a handle shares.
    private func configureOnce(_ h: UnsafeMutableRawPointer, large: Bool) {
        tarn_curl_setopt_long(h, CURLOPT_NOSIGNAL, 1)
        tarn_curl_setopt_long(h, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_1_1))
        tarn_curl_setopt_long(h, CURLOPT_TCP_NODELAY, 1)
        tarn_curl_setopt_long(h, CURLOPT_TCP_KEEPALIVE, 1)
        tarn_curl_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, Int(connectTimeout * 1000))
        // A transfer paused for back-pressure is not speed-checked by curl.
        tarn_curl_setopt_long(h, CURLOPT_LOW_SPEED_LIMIT, 1)
        tarn_curl_setopt_long(h, CURLOPT_LOW_SPEED_TIME, max(1, Int(stallTimeout)))
        tarn_curl_setopt_long(h, CURLOPT_EXPECT_100_TIMEOUT_MS, 1000)
        if large {
            tarn_curl_setopt_long(h, CURLOPT_BUFFERSIZE, 1 << 20)
            tarn_curl_setopt_long(h, CURLOPT_UPLOAD_BUFFERSIZE, 1 << 20)
        }
        tarn_curl_setopt_data_cb(h, CURLOPT_HEADERFUNCTION, headerCallback)
        tarn_curl_setopt_data_cb(h, CURLOPT_WRITEFUNCTION, writeCallback)
        tarn_curl_setopt_data_cb(h, CURLOPT_READFUNCTION, readCallback)
    }

    /// What is the transfer's own. The method is set from a plain GET each time
    /// (`CURLOPT_HTTPGET` clears the previous transfer's upload, POST and no-body settings),
    /// and a custom method is cleared when there is none.
    private func configure(_ h: UnsafeMutableRawPointer, for transfer: Transfer) {
        let call = transfer.call
        let opaque = Unmanaged.passUnretained(transfer).toOpaque()
        tarn_curl_setopt_str(h, CURLOPT_URL, call.url)
        tarn_curl_setopt_ptr(h, CURLOPT_HEADERDATA, opaque)
        tarn_curl_setopt_ptr(h, CURLOPT_WRITEDATA, opaque)
        tarn_curl_setopt_ptr(h, CURLOPT_READDATA, opaque)

        let length = call.body.length
        tarn_curl_setopt_long(h, CURLOPT_HTTPGET, 1)
        tarn_curl_setopt_str(h, CURLOPT_CUSTOMREQUEST, nil)
        switch call.method {
        case "GET": break
        case "HEAD": tarn_curl_setopt_long(h, CURLOPT_NOBODY, 1)
        case "PUT":
            tarn_curl_setopt_long(h, CURLOPT_UPLOAD, 1)
            tarn_curl_setopt_off(h, CURLOPT_INFILESIZE_LARGE, curl_off_t(length))
        case "POST":
            tarn_curl_setopt_long(h, CURLOPT_POST, 1)
            tarn_curl_setopt_off(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(length))
        default: tarn_curl_setopt_str(h, CURLOPT_CUSTOMREQUEST, call.method)
        }
        var headers = call.headers
        // A streamed body asks first, so a refusal (a 503 to retry) comes before any byte is
        // sent; a body in memory or a file is cheaper to resend than to wait for `100`.
        if case .stream = call.body { headers["expect"] = "100-continue" } else { headers["expect"] = "" }
        headers["content-type"] = headers["content-type"] ?? ""
        for (name, value) in headers {
            transfer.headerList = curl_slist_append(transfer.headerList, value.isEmpty ? "\(name):" : "\(name): \(value)")
        }
        tarn_curl_setopt_slist(h, CURLOPT_HTTPHEADER, transfer.headerList)
    }
}

/// One call in progress: what its callbacks share (they get it back as their context
/// pointer) and how it ends. Touched only on the curl thread, but for `complete`.
private final class Transfer: @unchecked Sendable {
    let client: CurlClient
    let call: HTTPCall
    var bodyOffset: Int64 = 0
    let stream: ByteChannel?
    let onHeaders: (@Sendable (Int, [String: String]) -> Void)?
    let complete: @Sendable (Result<HTTPReply, CurlFailure>) -> Void
    var handle: UnsafeMutableRawPointer?
    var headerList: UnsafeMutablePointer<curl_slist>?
    var status = 0
    var headers: [String: String] = [:]
    var streaming = false
    var collected: [UInt8] = []
    /// Why a callback stopped the transfer (the body source failed), if one did.
    var failure: String?

    init(client: CurlClient, call: HTTPCall, stream: ByteChannel?, onHeaders: (@Sendable (Int, [String: String]) -> Void)?,
         complete: @escaping @Sendable (Result<HTTPReply, CurlFailure>) -> Void) {
        self.client = client
        self.call = call
        self.stream = stream
        self.onHeaders = onHeaders
        self.complete = complete
    }

    deinit { curl_slist_free_all(headerList) }

    /// The wake-up a channel calls for this transfer once it may go on.
    var wake: @Sendable () -> Void { { [client, self] in client.resume(self) } }
}

private func client(_ p: UnsafeMutableRawPointer?) -> CurlClient {
    Unmanaged<CurlClient>.fromOpaque(p!).takeUnretainedValue()
}

/// curl says which socket to wait on for what (or to stop waiting on it).
private let socketCallback: tarn_curl_socket_cb = { _, socket, what, userp, _ in
    client(userp).watch(socket, what)
    return 0
}

/// curl says when it next wants `CURL_SOCKET_TIMEOUT` (-1: never, 0: at once).
private let timerCallback: tarn_curl_timer_cb = { _, timeoutMS, userp in
    client(userp).timerDeadline = timeoutMS < 0 ? nil : DispatchTime.now().uptimeNanoseconds + UInt64(timeoutMS) * 1_000_000
    return 0
}

private let readAbort = 0x1000_0000  // CURL_READFUNC_ABORT
private let pause = 0x1000_0001  // CURL_READFUNC_PAUSE and CURL_WRITEFUNC_PAUSE

private func context(_ p: UnsafeMutableRawPointer?) -> Transfer {
    Unmanaged<Transfer>.fromOpaque(p!).takeUnretainedValue()
}

private let readCallback: tarn_curl_data_cb = { buffer, size, count, p in
    let ctx = context(p)
    let max = size * count
    switch ctx.call.body {
    case .empty: return 0
    case let .bytes(bytes):
        let n = min(max, bytes.count - Int(ctx.bodyOffset))
        guard n > 0 else { return 0 }
        bytes.withUnsafeBytes { UnsafeMutableRawPointer(buffer!).copyMemory(from: $0.baseAddress! + Int(ctx.bodyOffset), byteCount: n) }
        ctx.bodyOffset += Int64(n)
        return n
    case let .file(fd, offset, length):
        let want = min(Int64(max), length - ctx.bodyOffset)
        guard want > 0 else { return 0 }
        let n = pread(fd, buffer, Int(want), off_t(offset + ctx.bodyOffset))
        guard n > 0 else { ctx.failure = "spooled part unreadable: errno \(errno)"; return readAbort }
        ctx.bodyOffset += Int64(n)
        return n
    case let .stream(channel, _):
        do {
            switch try channel.tryRead(into: UnsafeMutableRawPointer(buffer!), max: max, wake: ctx.wake) {
            case let .bytes(n): return n
            case .end: return 0
            case .pending: return pause
            }
        } catch {
            ctx.failure = "request body failed: \(error)"
            return readAbort
        }
    }
}

/// One header line at a time, parsed on bytes (it runs for every line of every response).
private let headerCallback: tarn_curl_data_cb = { buffer, size, count, p in
    let ctx = context(p)
    let n = size * count
    let line = UnsafeRawBufferPointer(start: buffer, count: n)
    if let status = HTTPHeadLine.status(line) {
        // A new response (after `100 Continue`, or a retry inside curl): start over.
        ctx.status = status
        // Room for a usual response's fields, so that the table is not regrown line by line.
        ctx.headers = Dictionary(minimumCapacity: 16)
    } else if HTTPHeadLine.isEmpty(line) {
        if ctx.status >= 200 {
            ctx.streaming = ctx.stream != nil && (200..<300).contains(ctx.status)
            ctx.onHeaders?(ctx.status, ctx.headers)
        }
    } else if let (name, value) = HTTPHeadLine.field(line) {
        ctx.headers[name] = value
    }
    return n
}

private let writeCallback: tarn_curl_data_cb = { buffer, size, count, p in
    let ctx = context(p)
    let n = size * count
    let bytes = UnsafeRawBufferPointer(start: buffer, count: n)
    if ctx.streaming, let stream = ctx.stream {
        switch stream.tryWrite(bytes, wake: ctx.wake) {
        case .queued: return n
        case .full: return pause
        case .closed: return 0
        }
    }
    // Error documents and listings: small. Anything larger is a misbehaving backend.
    guard ctx.collected.count + n <= 64 << 20 else { ctx.failure = "backend response too large"; return 0 }
    ctx.collected.append(contentsOf: bytes)
    return n
}
