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
    var url: String
    /// Lower-case names; `host` is sent as given (it is signed).
    var headers: [String: String]
    var body: Body = .empty
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

/// Runs HTTP calls through libcurl easy handles on dedicated threads: a transfer blocks its
/// thread (curl's callbacks wait on the bounded `ByteChannel`s, which is the back-pressure),
/// never a Swift concurrency thread or an event loop. Handles are pooled so their connections
/// stay alive between calls (`curl_easy_reset` keeps the connection cache).
final class CurlClient: @unchecked Sendable {
    /// Idle handles (guarded by `lock`).
    private var handles: [UnsafeMutableRawPointer] = []
    private let lock = NSLock()
    let connectTimeout: Double
    let stallTimeout: Double

    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_ALL)) }()

    init(connectTimeout: Double, stallTimeout: Double) {
        _ = Self.globalInit
        self.connectTimeout = connectTimeout
        self.stallTimeout = stallTimeout
    }

    deinit {
        for h in handles { curl_easy_cleanup(h) }
    }

    private func checkout() -> UnsafeMutableRawPointer {
        if let h = lock.withLock({ handles.popLast() }) { return h }
        return curl_easy_init()
    }

    private func checkin(_ h: UnsafeMutableRawPointer) {
        curl_easy_reset(h)
        let kept = lock.withLock { () -> Bool in
            guard handles.count < 64 else { return false }
            handles.append(h)
            return true
        }
        if !kept { curl_easy_cleanup(h) }
    }

    /// Runs `work` on a transfer thread of its own and returns its result.
    static func onThread<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { (c: CheckedContinuation<T, Never>) in
            TransferThreads.shared.run { c.resume(returning: work()) }
        }
    }

    /// Performs `call` on the calling thread. When `stream` is given, a 2xx body goes there
    /// (and `onHeaders` is told the status first); any other body is collected.
    func performBlocking(_ call: HTTPCall, stream: ByteChannel? = nil,
                         onHeaders: (@Sendable (Int, [String: String]) -> Void)? = nil) -> Result<HTTPReply, CurlFailure> {
        let h = checkout()
        defer { checkin(h) }
        let context = TransferContext(body: call.body, stream: stream, onHeaders: onHeaders)
        let opaque = Unmanaged.passUnretained(context).toOpaque()
        var list: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(list) }

        tarn_curl_setopt_str(h, CURLOPT_URL, call.url)
        tarn_curl_setopt_long(h, CURLOPT_NOSIGNAL, 1)
        tarn_curl_setopt_long(h, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_1_1))
        tarn_curl_setopt_long(h, CURLOPT_TCP_NODELAY, 1)
        tarn_curl_setopt_long(h, CURLOPT_TCP_KEEPALIVE, 1)
        tarn_curl_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, Int(connectTimeout * 1000))
        tarn_curl_setopt_long(h, CURLOPT_LOW_SPEED_LIMIT, 1)
        tarn_curl_setopt_long(h, CURLOPT_LOW_SPEED_TIME, max(1, Int(stallTimeout)))
        tarn_curl_setopt_long(h, CURLOPT_EXPECT_100_TIMEOUT_MS, 1000)
        tarn_curl_setopt_long(h, CURLOPT_BUFFERSIZE, 256 << 10)
        tarn_curl_setopt_data_cb(h, CURLOPT_HEADERFUNCTION, headerCallback)
        tarn_curl_setopt_ptr(h, CURLOPT_HEADERDATA, opaque)
        tarn_curl_setopt_data_cb(h, CURLOPT_WRITEFUNCTION, writeCallback)
        tarn_curl_setopt_ptr(h, CURLOPT_WRITEDATA, opaque)

        let length = call.body.length
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
        if call.method == "PUT" || call.method == "POST" {
            tarn_curl_setopt_data_cb(h, CURLOPT_READFUNCTION, readCallback)
            tarn_curl_setopt_ptr(h, CURLOPT_READDATA, opaque)
        }
        var headers = call.headers
        // A streamed body asks first, so a refusal (a 503 to retry) comes before any byte is
        // sent; a body in memory or a file is cheaper to resend than to wait for `100`.
        if case .stream = call.body { headers["expect"] = "100-continue" } else { headers["expect"] = "" }
        headers["content-type"] = headers["content-type"] ?? ""
        for (name, value) in headers {
            list = curl_slist_append(list, value.isEmpty ? "\(name):" : "\(name): \(value)")
        }
        tarn_curl_setopt_slist(h, CURLOPT_HTTPHEADER, list)

        let code = curl_easy_perform(h)
        if let failure = context.failure {
            return .failure(CurlFailure(code: -1, message: failure))
        }
        guard code == CURLE_OK else {
            return .failure(CurlFailure(code: Int(code.rawValue), message: String(cString: curl_easy_strerror(code))))
        }
        return .success(HTTPReply(status: tarn_curl_response_code(h), headers: context.headers, body: context.collected))
    }
}

/// State one transfer's callbacks share (they get it back as their context pointer).
private final class TransferContext {
    let body: HTTPCall.Body
    var bodyOffset: Int64 = 0
    let stream: ByteChannel?
    let onHeaders: (@Sendable (Int, [String: String]) -> Void)?
    var status = 0
    var headers: [String: String] = [:]
    var streaming = false
    var collected: [UInt8] = []
    /// Why a callback stopped the transfer (the body source failed), if one did.
    var failure: String?

    init(body: HTTPCall.Body, stream: ByteChannel?, onHeaders: (@Sendable (Int, [String: String]) -> Void)?) {
        self.body = body
        self.stream = stream
        self.onHeaders = onHeaders
    }
}

private let readAbort = 0x1000_0000  // CURL_READFUNC_ABORT

private func context(_ p: UnsafeMutableRawPointer?) -> TransferContext {
    Unmanaged<TransferContext>.fromOpaque(p!).takeUnretainedValue()
}

private let readCallback: tarn_curl_data_cb = { buffer, size, count, p in
    let ctx = context(p)
    let max = size * count
    switch ctx.body {
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
            return try channel.readBlocking(into: UnsafeMutableRawPointer(buffer!), max: max)
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
    func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A }
    if n >= 5, line.starts(with: "HTTP/".utf8) {
        // A new response (after `100 Continue`, or a retry inside curl): start over.
        let parts = line.split(separator: 0x20, maxSplits: 2)
        ctx.status = parts.count > 1 ? Int(String(decoding: parts[1], as: UTF8.self)) ?? 0 : 0
        ctx.headers = [:]
    } else if line.allSatisfy(isSpace) {
        if ctx.status >= 200 {
            ctx.streaming = ctx.stream != nil && (200..<300).contains(ctx.status)
            ctx.onHeaders?(ctx.status, ctx.headers)
        }
    } else if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
        let name = String(decoding: line[..<colon].map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
        var start = colon + 1, end = n
        while start < end, isSpace(line[start]) { start += 1 }
        while end > start, isSpace(line[end - 1]) { end -= 1 }
        ctx.headers[name] = String(decoding: line[start..<end], as: UTF8.self)
    }
    return n
}

private let writeCallback: tarn_curl_data_cb = { buffer, size, count, p in
    let ctx = context(p)
    let n = size * count
    let bytes = UnsafeRawBufferPointer(start: buffer, count: n)
    if ctx.streaming, let stream = ctx.stream {
        return stream.writeBlocking(bytes) ? n : 0
    }
    // Error documents and listings: small. Anything larger is a misbehaving backend.
    guard ctx.collected.count + n <= 64 << 20 else { ctx.failure = "backend response too large"; return 0 }
    ctx.collected.append(contentsOf: bytes)
    return n
}
