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
