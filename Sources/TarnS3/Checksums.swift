import Crypto
import Foundation

/// The `x-amz-checksum-*` algorithms S3 clients attach to uploads (as a header, or as an
/// aws-chunked trailer): computed as the bytes flow, compared as base64 of the big-endian
/// value.
enum ChecksumAlgorithm: String, CaseIterable {
    case crc32, crc32c, sha1, sha256

    var header: String { "x-amz-checksum-\(rawValue)" }

    static func named(_ header: String) -> ChecksumAlgorithm? {
        allCases.first { $0.header == header.lowercased() }
    }
}

struct RunningChecksum {
    let algorithm: ChecksumAlgorithm
    private var crc: UInt32 = 0xFFFF_FFFF
    private var sha1 = Insecure.SHA1()
    private var sha256 = SHA256()

    init(_ algorithm: ChecksumAlgorithm) { self.algorithm = algorithm }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        switch algorithm {
        case .crc32: crc = CRC.update(crc, bytes, table: CRC.ieee)
        case .crc32c: crc = CRC.update(crc, bytes, table: CRC.castagnoli)
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

    static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer, table: [UInt32]) -> UInt32 {
        var c = crc
        table.withUnsafeBufferPointer { t in
            for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        }
        return c
    }
}
