/// One object in a tree or in staging: the path and everything needed to serve it.
/// The physical address is written once and never overwritten, so branches share bytes.
public struct Entry: Sendable, Hashable {
    public var path: String
    public var physicalAddress: String
    public var size: Int64
    /// MD5 hex for single-part uploads (the S3 ETag), whatever the backing store reported otherwise.
    public var checksum: String
    public var contentType: String
    public var metadata: [String: String]
    /// Modification time, Unix seconds.
    public var mtime: Int64

    public init(path: String, physicalAddress: String, size: Int64, checksum: String,
                contentType: String = "application/octet-stream", metadata: [String: String] = [:], mtime: Int64 = 0) {
        self.path = path
        self.physicalAddress = physicalAddress
        self.size = size
        self.checksum = checksum
        self.contentType = contentType
        self.metadata = metadata
        self.mtime = mtime
    }

    /// Whole-entry equality over bytes (Swift's `==` on strings is Unicode-aware).
    public func isIdentical(to other: Entry) -> Bool {
        pathsEqual(path, other.path) && size == other.size && mtime == other.mtime
            && pathsEqual(physicalAddress, other.physicalAddress)
            && pathsEqual(checksum, other.checksum)
            && pathsEqual(contentType, other.contentType)
            && metadata == other.metadata
    }
}

/// A change at one path: a new entry, or a tombstone (`entry == nil`) that deletes the path.
public struct Change: Sendable, Hashable {
    public var path: String
    public var entry: Entry?

    public init(path: String, entry: Entry?) {
        self.path = path
        self.entry = entry
    }

    public static func put(_ entry: Entry) -> Change { Change(path: entry.path, entry: entry) }
    public static func delete(_ path: String) -> Change { Change(path: path, entry: nil) }
}

/// Canonical encoding of an entry's value (everything but the path), used inside ranges and
/// in staging rows.
public enum EntryCoding {
    public static func encodeValue(_ e: Entry, into w: inout ByteWriter) {
        w.string(e.physicalAddress)
        w.varint(e.size)
        w.string(e.checksum)
        w.string(e.contentType)
        w.varint(e.mtime)
        w.stringMap(e.metadata)
    }

    public static func decodeValue(path: String, from r: inout ByteReader) throws(EngineError) -> Entry {
        let address = try r.string()
        let size = try r.varint()
        let checksum = try r.string()
        let contentType = try r.string()
        let mtime = try r.varint()
        let metadata = try r.stringMap()
        return Entry(path: path, physicalAddress: address, size: size, checksum: checksum,
                     contentType: contentType, metadata: metadata, mtime: mtime)
    }

    /// Moves past one encoded value without building it.
    public static func skipValue(_ r: inout ByteReader) throws(EngineError) {
        try r.skipString()
        _ = try r.uvarint()
        try r.skipString()
        try r.skipString()
        _ = try r.uvarint()
        let n = try r.uvarint()
        for _ in 0..<n {
            try r.skipString()
            try r.skipString()
        }
    }

    public static func encodeValue(_ e: Entry) -> [UInt8] {
        var w = ByteWriter(capacity: 96)
        encodeValue(e, into: &w)
        return w.bytes
    }

    public static func decodeValue(path: String, bytes: [UInt8]) throws(EngineError) -> Entry {
        var r = ByteReader(bytes)
        return try decodeValue(path: path, from: &r)
    }
}
