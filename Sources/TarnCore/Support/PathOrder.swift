#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Object paths are ordered by their UTF-8 bytes, as S3 lists keys and as SQLite's BINARY
/// collation sorts them. Swift's own `String <` compares Unicode-normalised scalars, which
/// disagrees with both for non-NFC keys, so every ordering decision in the engine goes through here.

public func comparePaths(_ a: String, _ b: String) -> Int {
    var a = a
    var b = b
    return a.withUTF8 { ab in
        b.withUTF8 { bb in
            let n = min(ab.count, bb.count)
            if n > 0 {
                let r = memcmp(ab.baseAddress!, bb.baseAddress!, n)
                if r != 0 { return r < 0 ? -1 : 1 }
            }
            return ab.count == bb.count ? 0 : (ab.count < bb.count ? -1 : 1)
        }
    }
}


public func pathPrecedes(_ a: String, _ b: String) -> Bool { comparePaths(a, b) < 0 }


public func pathsEqual(_ a: String, _ b: String) -> Bool { comparePaths(a, b) == 0 }

extension String {
    /// Byte-wise prefix test (Swift's `hasPrefix` works on grapheme clusters).

    public func hasPathPrefix(_ prefix: String) -> Bool {
        if prefix.isEmpty { return true }
        var me = self
        var p = prefix
        return me.withUTF8 { a in
            p.withUTF8 { b in a.count >= b.count && memcmp(a.baseAddress!, b.baseAddress!, b.count) == 0 }
        }
    }
}
