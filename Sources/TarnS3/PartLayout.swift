import Foundation
import TarnCore

/// The parts a multipart object was completed from, in order (size, and checksum when the
/// upload had an algorithm), kept in the entry's metadata under `::s3::parts`. GetObject and
/// HeadObject with `partNumber` and GetObjectAttributes' `ObjectParts` read it; a part's
/// number is its position (1…N), as S3 numbers the parts of a completed object.
///
/// Encoding: parts joined by `,`, each `size` or `size:checksum`; a run of equal sizes without
/// checksums is `size*count`, so a 10,000-part upload of equal parts stays one short string.
struct PartLayout: Equatable {
    struct Part: Equatable {
        var size: Int64
        var checksum: String?
    }

    static let key = "::s3::parts"
    var parts: [Part]

    init(_ parts: [Part]) { self.parts = parts }

    init?(encoded: String) {
        var parts: [Part] = []
        for item in encoded.split(separator: ",") {
            if let star = item.firstIndex(of: "*") {
                guard let size = Int64(item[..<star]), let count = Int(item[item.index(after: star)...]), count > 0, count <= 10_000 else { return nil }
                parts += Array(repeating: Part(size: size, checksum: nil), count: count)
            } else if let colon = item.firstIndex(of: ":") {
                guard let size = Int64(item[..<colon]) else { return nil }
                parts.append(Part(size: size, checksum: String(item[item.index(after: colon)...])))
            } else {
                guard let size = Int64(item) else { return nil }
                parts.append(Part(size: size, checksum: nil))
            }
        }
        guard !parts.isEmpty else { return nil }
        self.parts = parts
    }

    var encoded: String {
        var items: [String] = []
        var i = 0
        while i < parts.count {
            let p = parts[i]
            if let checksum = p.checksum {
                items.append("\(p.size):\(checksum)")
                i += 1
                continue
            }
            var j = i + 1
            while j < parts.count, parts[j] == p { j += 1 }
            items.append(j - i == 1 ? "\(p.size)" : "\(p.size)*\(j - i)")
            i = j
        }
        return items.joined(separator: ",")
    }

    /// The layout of an entry, or nil for an object stored in one piece.
    init?(_ entry: Entry) {
        guard let text = entry.metadata[Self.key], let layout = PartLayout(encoded: text) else { return nil }
        self = layout
    }

    /// Bytes of part `number` (1-based) within the object, or nil past the last part.
    func range(ofPart number: Int) -> ClosedRange<Int64>? {
        guard number >= 1, number <= parts.count else { return nil }
        let start = parts[..<(number - 1)].reduce(Int64(0)) { $0 + $1.size }
        return start...(start + parts[number - 1].size - 1)
    }
}

/// An object's `x-amz-checksum-*`, as kept in its metadata: the algorithm and base64 value
/// (`…-N` for a composite multipart checksum) under `::s3::checksum-<algorithm>`, and the kind
/// under `::s3::checksum-type` (absent for single uploads, which are FULL_OBJECT).
struct StoredChecksum {
    static let typeKey = "::s3::checksum-type"

    var algorithm: ChecksumAlgorithm
    var value: String
    var type: String

    init?(_ entry: Entry) {
        for algorithm in ChecksumAlgorithm.allCases {
            if let value = entry.metadata[S3Gateway.checksumKey + algorithm.rawValue] {
                self.algorithm = algorithm
                self.value = value
                type = entry.metadata[Self.typeKey] ?? MultipartChecksum.Kind.fullObject.rawValue
                return
            }
        }
        return nil
    }
}
