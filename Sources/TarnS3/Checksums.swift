import Crypto
import Foundation

/// The `x-amz-checksum-*` algorithms S3 clients attach to uploads (as a header, or as an
/// aws-chunked trailer): computed as the bytes flow, compared as base64 of the big-endian
/// value.
enum ChecksumAlgorithm: String, CaseIterable {
    case crc32, crc32c, crc64nvme, sha1, sha256

    var header: String { "x-amz-checksum-\(rawValue)" }

    static func named(_ header: String) -> ChecksumAlgorithm? {
        allCases.first { $0.header == header.lowercased() }
    }
}

struct RunningChecksum {
    let algorithm: ChecksumAlgorithm
    private var crc: UInt32 = 0xFFFF_FFFF
    private var crc64: UInt64 = ~0
    private var sha1 = Insecure.SHA1()
    private var sha256 = SHA256()

    init(_ algorithm: ChecksumAlgorithm) { self.algorithm = algorithm }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        switch algorithm {
        case .crc32: crc = CRC.update(crc, bytes, table: CRC.ieee)
        case .crc32c: crc = CRC.update(crc, bytes, table: CRC.castagnoli)
        case .crc64nvme: crc64 = CRC.update64(crc64, bytes)
        case .sha1: sha1.update(bufferPointer: bytes)
        case .sha256: sha256.update(bufferPointer: bytes)
        }
    }

    /// Base64 of the final value, as S3 spells checksums.
    func finalBase64() -> String {
        switch algorithm {
        case .crc32, .crc32c:
            let v = ~crc
            return Data([UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]).base64EncodedString()
        case .crc64nvme:
            let v = ~crc64
            return Data((0..<8).reversed().map { UInt8(truncatingIfNeeded: v >> (8 * $0)) }).base64EncodedString()
        case .sha1: return Data(sha1.finalize()).base64EncodedString()
        case .sha256: return Data(sha256.finalize()).base64EncodedString()
        }
    }
}

enum CRC {
    static let ieee = table(0xEDB8_8320)
    static let castagnoli = table(0x82F6_3B78)

    static func table(_ poly: UInt32) -> [UInt32] {
        (0..<256).map { i -> UInt32 in
            var c = UInt32(i)
            for _ in 0..<8 { c = c & 1 != 0 ? poly ^ (c >> 1) : c >> 1 }
            return c
        }
    }

    /// CRC-64/NVME (reflected polynomial 0x9A6C9329AC4BC9B5), the default of newer AWS SDKs
    /// (pyarrow's among them).
    static let nvme: [UInt64] = (0..<256).map { i -> UInt64 in
        var c = UInt64(i)
        for _ in 0..<8 { c = c & 1 != 0 ? 0x9A6C_9329_AC4B_C9B5 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func update64(_ crc: UInt64, _ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var c = crc
        nvme.withUnsafeBufferPointer { t in
            for b in bytes { c = t[Int((c ^ UInt64(b)) & 0xFF)] ^ (c >> 8) }
        }
        return c
    }

    static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer, table: [UInt32]) -> UInt32 {
        var c = crc
        table.withUnsafeBufferPointer { t in
            for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        }
        return c
    }
}

/// Checksums of multipart uploads, from the parts' checksums (S3's two kinds): COMPOSITE is
/// the algorithm over the concatenated raw part checksums, written `<base64>-<parts>`;
/// FULL_OBJECT (CRCs only) is the CRC of the whole object, combined from the parts' CRCs and
/// sizes without reading a byte.
enum MultipartChecksum {
    enum Kind: String { case composite = "COMPOSITE", fullObject = "FULL_OBJECT" }

    /// S3's default kind for an algorithm when the client names none.
    static func defaultKind(_ algorithm: ChecksumAlgorithm) -> Kind {
        algorithm == .crc64nvme ? .fullObject : .composite
    }

    static func allows(_ kind: Kind, _ algorithm: ChecksumAlgorithm) -> Bool {
        switch (kind, algorithm) {
        case (.fullObject, .sha1), (.fullObject, .sha256), (.composite, .crc64nvme): return false
        default: return true
        }
    }

    /// The object's checksum from its parts' base64 checksums and sizes, in part order; nil
    /// when a part's checksum is not valid base64 of the algorithm's width.
    static func combine(_ algorithm: ChecksumAlgorithm, _ kind: Kind, parts: [(checksum: String, size: Int64)]) -> String? {
        var raws: [[UInt8]] = []
        for p in parts {
            guard let raw = Data(base64Encoded: p.checksum), raw.count == algorithm.width else { return nil }
            raws.append(Array(raw))
        }
        switch kind {
        case .composite:
            var running = RunningChecksum(algorithm)
            for raw in raws { raw.withUnsafeBytes { running.update($0) } }
            return running.finalBase64() + "-\(parts.count)"
        case .fullObject:
            guard let crc = CRCCombine(algorithm) else { return nil }
            var total: UInt64 = 0
            for (raw, p) in zip(raws, parts) {
                let value = raw.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                total = crc.combine(total, value, length: p.size)
            }
            return Data((0..<algorithm.width).reversed().map { UInt8(truncatingIfNeeded: total >> (8 * $0)) }).base64EncodedString()
        }
    }
}

extension ChecksumAlgorithm {
    /// Bytes of a checksum value.
    var width: Int {
        switch self {
        case .crc32, .crc32c: return 4
        case .crc64nvme: return 8
        case .sha1: return 20
        case .sha256: return 32
        }
    }

    /// The name S3 uses in headers' values and XML (`CRC32`, `SHA256`…).
    var name: String { rawValue.uppercased() }
}

/// CRC(A‖B) from CRC(A), CRC(B) and B's length (zlib's crc32_combine, for any reflected CRC
/// whose initial value and final xor are all ones): CRC(A) is carried through len(B) zero
/// bytes by multiplying it by x^(8·len(B)) modulo the polynomial, then xored with CRC(B).
struct CRCCombine {
    let poly: UInt64
    let top: UInt64
    /// x^(2^k) mod P for k = 0…63.
    private var powers: [UInt64] = []

    init?(_ algorithm: ChecksumAlgorithm) {
        switch algorithm {
        case .crc32: (poly, top) = (0xEDB8_8320, 1 << 31)
        case .crc32c: (poly, top) = (0x82F6_3B78, 1 << 31)
        case .crc64nvme: (poly, top) = (0x9A6C_9329_AC4B_C9B5, 1 << 63)
        case .sha1, .sha256: return nil
        }
        var p = top >> 1 // x^1
        for _ in 0..<64 {
            powers.append(p)
            p = multiply(p, p)
        }
    }

    /// a·b mod P, in the reflected bit order (the top bit is x^0).
    func multiply(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var a = a, b = b, product: UInt64 = 0
        var m = top
        while m != 0 {
            if a & m != 0 {
                product ^= b
                a ^= m
                if a == 0 { break }
            }
            m >>= 1
            b = b & 1 != 0 ? (b >> 1) ^ poly : b >> 1
        }
        return product
    }

    /// x^(8·n) mod P.
    func shift(bytes n: Int64) -> UInt64 {
        var p = top // x^0
        var n = UInt64(n), k = 3
        while n != 0 {
            if n & 1 != 0 { p = multiply(powers[k & 63], p) }
            n >>= 1
            k += 1
        }
        return p
    }

    func combine(_ first: UInt64, _ second: UInt64, length: Int64) -> UInt64 {
        multiply(shift(bytes: length), first) ^ second
    }
}
