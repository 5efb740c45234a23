#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// RFC 1123 dates (`Last-Modified`, `Expires`), built directly: a DateFormatter per request is
/// costly on read paths, and a shared one is not thread-safe. Both wire layers use this.
public enum HTTPDate {
    public static func rfc1123(_ seconds: Int64) -> String {
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }

    /// ISO 8601 in UTC with milliseconds (`2026-11-25T04:40:00.000Z`), as S3 listings write
    /// it; built by hand because `String(format:)` cost a fifth of a 1,000-key listing.
    public static func iso8601(_ seconds: Int64) -> String {
        var t = time_t(seconds)
        var p = tm()
        gmtime_r(&t, &p)
        return String(unsafeUninitializedCapacity: 24) { out in
            func digits(_ n: Int32, at: Int, width: Int) {
                var v = Int(n)
                for i in stride(from: at + width - 1, through: at, by: -1) {
                    out[i] = UInt8(ascii: "0") + UInt8(v % 10)
                    v /= 10
                }
            }
            digits(p.tm_year + 1900, at: 0, width: 4)
            digits(p.tm_mon + 1, at: 5, width: 2)
            digits(p.tm_mday, at: 8, width: 2)
            digits(p.tm_hour, at: 11, width: 2)
            digits(p.tm_min, at: 14, width: 2)
            digits(p.tm_sec, at: 17, width: 2)
            for (i, c) in [(4, "-"), (7, "-"), (10, "T"), (13, ":"), (16, ":"), (19, "."), (20, "0"), (21, "0"), (22, "0"), (23, "Z")] as [(Int, Unicode.Scalar)] {
                out[i] = UInt8(ascii: c)
            }
            return 24
        }
    }
}
