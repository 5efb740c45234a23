import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A keep-alive HTTP/1.1 connection over a blocking loopback socket: the cheapest client we
/// can put beside the server on the same two cores, so the figures are the server's.
final class HTTPConnection {
    private let fd: Int32
    private var buffer = [UInt8](repeating: 0, count: 256 * 1024)
    private var start = 0, end = 0

    struct Failure: Error, CustomStringConvertible { var description: String }

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { close(fd); throw Failure(description: "connect: \(errno)") }
    }

    deinit { close(fd) }

    /// Sends one request and reads its response; returns the status and the body.
    func send(method: String, path: String, headers: String, body: [UInt8] = []) throws -> (status: Int, body: [UInt8]) {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\(headers)"
        head += "Content-Length: \(body.count)\r\n\r\n"
        var out = Array(head.utf8)
        out += body
        try writeAll(out[...])
        return try readResponse(headOnly: method == "HEAD")
    }

    private func fill() throws {
        if start == end { start = 0; end = 0 }
        if end == buffer.count {
            buffer.replaceSubrange(0..<(end - start), with: buffer[start..<end])
            end -= start; start = 0
            if end == buffer.count { buffer += [UInt8](repeating: 0, count: buffer.count) }
        }
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + end, buffer.count - end) }
        guard n > 0 else { throw Failure(description: "connection closed") }
        end += n
    }

    /// Reads a response head: the status, the Content-Length and whether the body is chunked.
    /// Scanned as bytes, with no strings made: the client shares the two cores with the server,
    /// and what it spends per response header is taken from the server's figures.
    private func readHead() throws -> (status: Int, length: Int, chunked: Bool) {
        var headerEnd: Int?
        while headerEnd == nil {
            var i = start
            while i + 3 < end {
                if buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 { headerEnd = i; break }
                i += 1
            }
            if headerEnd == nil { try fill() }
        }
        let head = start..<headerEnd!
        start = headerEnd! + 4
        return try buffer.withUnsafeBufferPointer { b in
            // `HTTP/1.1 200 OK`
            guard head.count >= 12 else { throw Failure(description: "bad status line") }
            var status = 0
            for k in (head.lowerBound + 9)..<(head.lowerBound + 12) {
                let d = b[k] &- UInt8(ascii: "0")
                guard d < 10 else { throw Failure(description: "bad status line") }
                status = status * 10 + Int(d)
            }
            var length = 0
            var chunked = false
            var line = head.lowerBound
            while line < head.upperBound {
                var next = line
                while next < head.upperBound && b[next] != 13 { next += 1 }
                if Self.hasName(b, line, next, "content-length:") {
                    var k = line + 15
                    while k < next && b[k] == UInt8(ascii: " ") { k += 1 }
                    while k < next, case let d = b[k] &- UInt8(ascii: "0"), d < 10 { length = length * 10 + Int(d); k += 1 }
                } else if Self.hasName(b, line, next, "transfer-encoding:") {
                    chunked = Self.contains(b, line + 18, next, "chunked")
                }
                line = next + 2
            }
            return (status, length, chunked)
        }
    }

    /// Whether the header line `b[from..<to]` starts with `name` (lower-case ASCII), ignoring case.
    private static func hasName(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int, _ name: StaticString) -> Bool {
        guard to - from >= name.utf8CodeUnitCount else { return false }
        let n = name.utf8Start
        for k in 0..<name.utf8CodeUnitCount where b[from + k] | 0x20 != n[k] | 0x20 { return false }
        return true
    }

    /// Whether `b[from..<to]` contains `word` (lower-case ASCII), ignoring case.
    private static func contains(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int, _ word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        guard to - from >= n else { return false }
        for i in from...(to - n) where hasName(b, i, to, word) { return true }
        return false
    }

    private func readResponse(headOnly: Bool) throws -> (status: Int, body: [UInt8]) {
        let (status, length, chunked) = try readHead()
        if headOnly { return (status, []) }
        if chunked { return (status, try readChunked()) }
        while end - start < length { try fill() }
        let body = Array(buffer[start..<(start + length)])
        start += length
        return (status, body)
    }

    /// Sends a request whose body is `length` bytes of `pattern` repeated, written straight from
    /// it, and reads the response; a successful response's body is counted and dropped, so
    /// objects of any size cost the client a fixed buffer.
    func transfer(method: String, path: String, headers: String, length: Int = 0, pattern: [UInt8] = [0])
        throws -> (status: Int, bodyBytes: Int, errorBody: String) {
        let head = Array("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\(headers)Content-Length: \(length)\r\n\r\n".utf8)
        try writeAll(head[...])
        var remaining = length
        while remaining > 0 {
            let n = min(remaining, pattern.count)
            try writeAll(pattern[0..<n])
            remaining -= n
        }
        let (status, length, chunked) = try readHead()
        if status >= 300 || chunked {
            let body: [UInt8]
            if chunked { body = try readChunked() } else {
                while end - start < length { try fill() }
                body = Array(buffer[start..<(start + length)]); start += length
            }
            return (status, body.count, String(decoding: body, as: UTF8.self))
        }
        var left = length
        let buffered = min(left, end - start)
        start += buffered; left -= buffered
        while left > 0 {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, min(left, $0.count)) }
            guard n > 0 else { throw Failure(description: "connection closed with \(left) bytes to go") }
            left -= n
        }
        start = 0; end = 0
        return (status, length, "")
    }

    private func writeAll(_ bytes: ArraySlice<UInt8>) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + sent, bytes.count - sent) }
            guard n > 0 else { throw Failure(description: "write: \(errno)") }
            sent += n
        }
    }

    private func readLine() throws -> String {
        while true {
            var i = start
            while i + 1 < end {
                if buffer[i] == 13 && buffer[i + 1] == 10 {
                    let line = String(decoding: buffer[start..<i], as: UTF8.self)
                    start = i + 2
                    return line
                }
                i += 1
            }
            try fill()
        }
    }

    private func readChunked() throws -> [UInt8] {
        var body: [UInt8] = []
        while true {
            let size = Int(try readLine().split(separator: ";").first ?? "", radix: 16) ?? 0
            if size == 0 { _ = try readLine(); return body }
            while end - start < size + 2 { try fill() }
            body += buffer[start..<(start + size)]
            start += size + 2
        }
    }
}

/// Runs `total` requests from `clients` threads, each with its own keep-alive connection;
/// `request(client, n)` makes the n-th request of a client. Returns throughput and latency.
func runLoad(port: Int, clients: Int, total: Int,
             request: @escaping @Sendable (Int, Int) -> (method: String, path: String, headers: String, body: [UInt8]),
             expect: Int) throws -> (perSecond: Double, p50ms: Double, p99ms: Double) {
    let perClient = (total + clients - 1) / clients
    let lock = NSLock()
    nonisolated(unsafe) var latencies: [Double] = []
    nonisolated(unsafe) var failure: String?
    let ready = DispatchGroup(), go = DispatchSemaphore(value: 0), done = DispatchGroup()
    for c in 0..<clients {
        ready.enter(); done.enter()
        let thread = Thread {
            var mine: [Double] = []
            mine.reserveCapacity(perClient)
            defer { lock.lock(); latencies += mine; lock.unlock(); done.leave() }
            let conn: HTTPConnection
            do { conn = try HTTPConnection(port: port) } catch { lock.lock(); failure = "\(error)"; lock.unlock(); ready.leave(); return }
            ready.leave()
            go.wait()
            for n in 0..<perClient {
                let r = request(c, n)
                let t0 = DispatchTime.now().uptimeNanoseconds
                do {
                    let response = try conn.send(method: r.method, path: r.path, headers: r.headers, body: r.body)
                    guard response.status == expect else {
                        lock.lock(); failure = "\(r.method) \(r.path): \(response.status) \(String(decoding: response.body, as: UTF8.self))"; lock.unlock()
                        return
                    }
                } catch {
                    lock.lock(); failure = "\(r.method) \(r.path): \(error)"; lock.unlock()
                    return
                }
                mine.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
            }
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
    ready.wait()
    let t0 = DispatchTime.now().uptimeNanoseconds
    for _ in 0..<clients { go.signal() }
    done.wait()
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    if let failure { throw HTTPConnection.Failure(description: failure) }
    return (Double(latencies.count) / seconds, percentile(latencies, 0.5), percentile(latencies, 0.99))
}
