import Foundation
import Logging
import Synchronization

/// Structured log lines (`time level label: message key=value ...`) for the server's stderr,
/// written in batches: a request log line per request costs a syscall and a lock on stderr
/// with swift-log's `StreamLogHandler`, which took a quarter of the throughput of `stat` at
/// 32 clients. Lines are buffered and written by a background thread every 50 ms, at once
/// for `error` and above, and by `flush()` at shutdown.
public final class LogOutput: Sendable {
    private let buffer = Mutex<[UInt8]>([])
    private let fd: Int32
    private let stopped = Atomic<Bool>(false)

    public static let standardError = LogOutput(fd: 2)

    init(fd: Int32) {
        self.fd = fd
        let thread = Thread { [self] in
            while !stopped.load(ordering: .relaxed) {
                Thread.sleep(forTimeInterval: 0.05)
                flush()
            }
        }
        thread.name = "tarn-log"
        thread.start()
    }

    func append(_ line: [UInt8], urgent: Bool) {
        let pending = buffer.withLock { b -> Int in
            b.append(contentsOf: line)
            return b.count
        }
        if urgent || pending > 1 << 20 { flush() }
    }

    /// Writes everything buffered so far.
    public func flush() {
        let bytes = buffer.withLock { b -> [UInt8] in
            defer { b.removeAll(keepingCapacity: true) }
            return b
        }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if n <= 0 { if errno == EINTR { continue }; return }
            offset += n
        }
    }

    /// A swift-log handler that writes here.
    public func handler(label: String, level: Logger.Level) -> some LogHandler {
        BufferedLogHandler(label: label, output: self, logLevel: level)
    }
}

struct BufferedLogHandler: LogHandler {
    let label: String
    let output: LogOutput
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?, source: String,
             file: String, function: String, line: UInt) {
        // Pairs sorted by key, a later source's value winning (provider over handler, the
        // call's over both), built without merging dictionaries: this runs once per request.
        var pairs: [(key: String, value: Logger.MetadataValue)] = []
        pairs.reserveCapacity(metadata.count + (explicit?.count ?? 0))
        func add(_ m: Logger.Metadata) {
            for (key, value) in m {
                if let i = pairs.firstIndex(where: { $0.key == key }) { pairs[i].value = value } else { pairs.append((key, value)) }
            }
        }
        add(metadata)
        if let provided = metadataProvider?.get() { add(provided) }
        if let explicit { add(explicit) }
        pairs.sort { $0.key < $1.key }
        var text = Self.startLine(level: level, label: label, message: message.description)
        for (key, value) in pairs {
            switch value {
            case let .string(s): Self.appendPair(key, s, to: &text)
            case let .stringConvertible(c): Self.appendPair(key, c.description, to: &text)
            default: Self.appendPair(key, value.description, to: &text)
            }
        }
        text.append(UInt8(ascii: "\n"))
        output.append(text, urgent: level >= .error)
    }

    /// The request log line `log` would write for `RequestIDMiddleware.logRequest`'s metadata,
    /// written without building it: a dictionary of five values, merged and sorted, cost
    /// more than the rest of the line. False, writing nothing, when the handler has metadata
    /// of its own to merge (`log` does that).
    func logRequest(method: String, path: String, status: Int, micros: Int64, requestID: String?) -> Bool {
        guard metadata.isEmpty, metadataProvider == nil else { return false }
        guard logLevel <= .info else { return true }
        var text = Self.startLine(level: .info, label: label, message: "request")
        // In `log`'s order: sorted by key.
        if let requestID { Self.appendPair("hb.request.id", requestID, to: &text) }
        Self.appendPair("method", method, to: &text)
        Self.appendPair("path", path, to: &text)
        Self.appendPair("status", String(status), to: &text)
        Self.appendPair("us", String(micros), to: &text)
        text.append(UInt8(ascii: "\n"))
        output.append(text, urgent: false)
        return true
    }

    /// `time level label: message`, the start of every line.
    private static func startLine(level: Logger.Level, label: String, message: String) -> [UInt8] {
        var text = [UInt8]()
        text.reserveCapacity(192)
        appendTimestamp(to: &text)
        text.append(UInt8(ascii: " "))
        text += level.rawValue.utf8
        text.append(UInt8(ascii: " "))
        text += label.utf8
        text += ": ".utf8
        text += message.utf8
        return text
    }

    /// ` key=value`, the value quoted when it must be.
    private static func appendPair(_ key: String, _ value: String, to text: inout [UInt8]) {
        text.append(UInt8(ascii: " "))
        text += key.utf8
        text.append(UInt8(ascii: "="))
        appendQuoted(value, to: &text)
    }

    /// RFC 3339 UTC with milliseconds, without a formatter object.
    static func appendTimestamp(to out: inout [UInt8]) {
        var tv = timeval()
        gettimeofday(&tv, nil)
        var t = time_t(tv.tv_sec)
        var parts = tm()
        gmtime_r(&t, &parts)
        func put(_ v: Int, width: Int, then separator: UInt8) {
            let start = out.count
            out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: width))
            var v = v
            for k in stride(from: start + width - 1, through: start, by: -1) {
                out[k] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
            }
            out.append(separator)
        }
        put(Int(parts.tm_year) + 1900, width: 4, then: UInt8(ascii: "-"))
        put(Int(parts.tm_mon) + 1, width: 2, then: UInt8(ascii: "-"))
        put(Int(parts.tm_mday), width: 2, then: UInt8(ascii: "T"))
        put(Int(parts.tm_hour), width: 2, then: UInt8(ascii: ":"))
        put(Int(parts.tm_min), width: 2, then: UInt8(ascii: ":"))
        put(Int(parts.tm_sec), width: 2, then: UInt8(ascii: "."))
        put(Int(tv.tv_usec) / 1000, width: 3, then: UInt8(ascii: "Z"))
    }

    /// A value as logfmt writes it: bare when it has no space, quote or `=`, quoted otherwise.
    static func appendQuoted(_ value: String, to out: inout [UInt8]) {
        guard value.isEmpty || value.utf8.contains(where: { $0 <= 0x20 || $0 == 0x22 || $0 == 0x3D || $0 == 0x5C }) else {
            out += value.utf8
            return
        }
        out.append(UInt8(ascii: "\""))
        for b in value.utf8 {
            switch b {
            case UInt8(ascii: "\\"), UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), b]
            case UInt8(ascii: "\n"): out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
