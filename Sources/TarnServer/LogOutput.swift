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

    func append(_ line: String, urgent: Bool) {
        let pending = buffer.withLock { b -> Int in
            b.append(contentsOf: line.utf8)
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
        var all = metadata
        if let provided = metadataProvider?.get(), !provided.isEmpty { all.merge(provided) { $1 } }
        if let explicit, !explicit.isEmpty { all.merge(explicit) { $1 } }
        var text = Self.timestamp()
        text.reserveCapacity(160)
        text += " "
        text += level.rawValue
        text += " "
        text += label
        text += ": "
        text += message.description
        for key in all.keys.sorted() {
            text += " "
            text += key
            text += "="
            Self.appendValue(all[key]!, to: &text)
        }
        text += "\n"
        output.append(text, urgent: level >= .error)
    }

    static func appendValue(_ value: Logger.MetadataValue, to text: inout String) {
        switch value {
        case let .string(s): text += quoted(s)
        case let .stringConvertible(c): text += quoted(c.description)
        default: text += quoted(value.description)
        }
    }

    /// RFC 3339 UTC with milliseconds, without a formatter object.
    static func timestamp() -> String {
        var tv = timeval()
        gettimeofday(&tv, nil)
        var t = time_t(tv.tv_sec)
        var parts = tm()
        gmtime_r(&t, &parts)
        var out = [UInt8](repeating: 0, count: 24)
        func put(_ v: Int, at i: Int, width: Int) {
            var v = v
            for k in stride(from: i + width - 1, through: i, by: -1) {
                out[k] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
            }
        }
        put(Int(parts.tm_year) + 1900, at: 0, width: 4); out[4] = UInt8(ascii: "-")
        put(Int(parts.tm_mon) + 1, at: 5, width: 2); out[7] = UInt8(ascii: "-")
        put(Int(parts.tm_mday), at: 8, width: 2); out[10] = UInt8(ascii: "T")
        put(Int(parts.tm_hour), at: 11, width: 2); out[13] = UInt8(ascii: ":")
        put(Int(parts.tm_min), at: 14, width: 2); out[16] = UInt8(ascii: ":")
        put(Int(parts.tm_sec), at: 17, width: 2); out[19] = UInt8(ascii: ".")
        put(Int(tv.tv_usec) / 1000, at: 20, width: 3); out[23] = UInt8(ascii: "Z")
        return String(decoding: out, as: UTF8.self)
    }

    /// A value as logfmt writes it: bare when it has no space, quote or `=`, quoted otherwise.
    static func quoted(_ value: String) -> String {
        guard value.isEmpty || value.utf8.contains(where: { $0 <= 0x20 || $0 == 0x22 || $0 == 0x3D || $0 == 0x5C }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n") + "\""
    }
}
