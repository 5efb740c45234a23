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
        var p = tm()
        gmtime_r(&t, &p)
        // `Sun, 06 Nov 1994 08:49:37 GMT`, written as bytes: interpolating it from ten small
        // strings was a third of a small GET's answer headers.
        return String(unsafeUninitializedCapacity: 29) { out in
            func copy(_ text: StaticString, at: Int) {
                for i in 0..<text.utf8CodeUnitCount { out[at + i] = text.utf8Start[i] }
            }
            func digits(_ n: Int32, at: Int, width: Int) {
                var v = Int(n)
                for i in stride(from: at + width - 1, through: at, by: -1) {
                    out[i] = UInt8(ascii: "0") + UInt8(v % 10)
                    v /= 10
                }
            }
            let days: [StaticString] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
            let months: [StaticString] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
            copy(days[Int(p.tm_wday)], at: 0)
            copy(", ", at: 3)
            digits(p.tm_mday, at: 5, width: 2)
            out[7] = UInt8(ascii: " ")
            copy(months[Int(p.tm_mon)], at: 8)
            out[11] = UInt8(ascii: " ")
            digits(p.tm_year + 1900, at: 12, width: 4)
            out[16] = UInt8(ascii: " ")
            digits(p.tm_hour, at: 17, width: 2)
            out[19] = UInt8(ascii: ":")
            digits(p.tm_min, at: 20, width: 2)
            out[22] = UInt8(ascii: ":")
            digits(p.tm_sec, at: 23, width: 2)
            copy(" GMT", at: 25)
            return 29
        }
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

    /// Unix seconds of an ISO 8601 UTC time (`2026-11-25T04:40:00.000Z`, fractions and a
    /// trailing `Z` optional), as S3 listings write `LastModified`; nil if it is not one.
    public static func parseISO8601(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        guard b.count >= 19, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: " "),
              b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":") else { return nil }
        func number(_ at: Int, _ width: Int) -> Int64? {
            var v: Int64 = 0
            for i in at..<(at + width) {
                guard b[i] >= UInt8(ascii: "0"), b[i] <= UInt8(ascii: "9") else { return nil }
                v = v * 10 + Int64(b[i] - UInt8(ascii: "0"))
            }
            return v
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        // Days from the civil date (proleptic Gregorian), after Howard Hinnant's algorithm.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return days * 86_400 + hour * 3_600 + minute * 60 + second
    }
}
