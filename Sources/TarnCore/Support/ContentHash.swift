import Crypto

/// Content addresses: SHA-256 over canonical bytes, as 64 lowercase hex digits.
public enum ContentHash {
    public static func sha256Hex(_ bytes: [UInt8]) -> String {
        hex(SHA256.hash(data: bytes))
    }

    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    public static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        var out = [UInt8]()
        out.reserveCapacity(64)
        appendHex(digest, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// `hex` written onto the end of `out` (a text being built as bytes).
    public static func appendHex<D: Sequence>(_ digest: D, to out: inout [UInt8]) where D.Element == UInt8 {
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
    }

    /// Hex digits (either case) back to bytes: the inverse of `hex`.
    public static func bytes(hex: String) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(hex.utf8.count / 2)
        var high: UInt8 = 0
        for (i, c) in hex.utf8.enumerated() {
            let v: UInt8 = c <= 57 ? c - 48 : (c >= 97 ? c - 87 : c - 55)
            if i % 2 == 0 { high = v << 4 } else { out.append(high | v) }
        }
        return out
    }

    /// A cheap 64-bit hash of a key (FNV-1a with a murmur finaliser), used only to place range
    /// boundaries: it must be stable across releases, since it decides the shape of stored trees.

    public static func keyHash(_ key: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key {
            h ^= UInt64(byte)
            h &*= 0x0000_0100_0000_01b3
        }
        h ^= h >> 33
        h &*= 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        h &*= 0xc4ce_b9fe_1a85_ec53
        h ^= h >> 33
        return h
    }

    /// Non-empty and only `0-9a-f` (also `A-F` when `anyCase`).
    public static func isHex(_ s: String, anyCase: Bool = false) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) || (anyCase && $0 >= 65 && $0 <= 70) }
    }
}
