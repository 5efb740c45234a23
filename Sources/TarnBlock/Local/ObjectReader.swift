#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads an object's bytes in chunks, one `pread` per chunk when the consumer asks for it: a
/// slow consumer slows the reads, nothing piles up in memory. Closes the file at the end, on
/// error, or when dropped.
public final class ObjectReader: AsyncSequence, @unchecked Sendable {
    public typealias Element = [UInt8]
    private let fd: Int32
    /// Bytes of the object this reader will deliver.
    public let length: Int64
    /// Size of the whole object (for Content-Range).
    public let objectSize: Int64
    private let start: Int64
    private let chunkSize: Int

    init(fd: Int32, start: Int64, length: Int64, objectSize: Int64, chunkSize: Int = 256 * 1024) {
        self.fd = fd
        self.start = start
        self.length = length
        self.objectSize = objectSize
        self.chunkSize = chunkSize
    }

    deinit { close(fd) }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let reader: ObjectReader
        var offset: Int64

        public mutating func next() async throws -> [UInt8]? {
            let end = reader.start + reader.length
            guard offset < end else { return nil }
            let want = Int(Swift.min(Int64(reader.chunkSize), end - offset))
            var chunk = [UInt8](repeating: 0, count: want)
            let n = chunk.withUnsafeMutableBytes { pread(reader.fd, $0.baseAddress, want, off_t(offset)) }
            guard n > 0 else {
                throw BlockStoreError.io(n == 0 ? "object shorter than expected" : "read failed: errno \(errno)")
            }
            if n < want { chunk.removeLast(want - n) }
            offset += Int64(n)
            return chunk
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(reader: self, offset: start) }
}
