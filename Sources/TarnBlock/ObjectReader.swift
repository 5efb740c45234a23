import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads an object's bytes in chunks, when the consumer asks for them: a slow consumer slows
/// the reads, nothing piles up in memory. A local object is read with one `pread` per chunk
/// (a file of its own is closed when the reader is dropped; a pack stays open for others); a remote one
/// arrives through a bounded channel fed by the backend transfer, which stops when the reader
/// is dropped.
public final class ObjectReader: AsyncSequence, @unchecked Sendable {
    public typealias Element = [UInt8]
    enum Source {
        case file(OpenFile)
        case remote(ByteChannel)
    }
    private let source: Source
    /// Bytes of the object this reader will deliver.
    public let length: Int64
    /// Size of the whole object (for Content-Range).
    public let objectSize: Int64
    private let start: Int64
    private let chunkSize: Int

    init(file: OpenFile, start: Int64, length: Int64, objectSize: Int64, chunkSize: Int = 1 << 20) {
        self.source = .file(file)
        self.start = start
        self.length = length
        self.objectSize = objectSize
        self.chunkSize = chunkSize
    }

    init(channel: ByteChannel, start: Int64, length: Int64, objectSize: Int64) {
        self.source = .remote(channel)
        self.start = start
        self.length = length
        self.objectSize = objectSize
        self.chunkSize = 1 << 20
    }

    deinit {
        switch source {
        case .file: break // closed when its last holder lets go
        case let .remote(channel): channel.fail(BlockStoreError.incompleteBody("reader closed"))
        }
    }

    /// Reads up to `count` bytes at `offset` (absolute in the object) into `buffer`.
    fileprivate func read(at offset: Int64, count: Int, into buffer: inout ByteBuffer) async throws {
        switch source {
        case let .file(file):
            try Self.readChunk(file.fd, at: offset, count: count, into: &buffer)
        case let .remote(channel):
            guard try await channel.read(into: &buffer, max: count) else { throw BlockStoreError.io("object shorter than expected") }
        }
    }

    /// One `pread` of up to `count` bytes at `offset` of a local file, appended to `buffer`.
    fileprivate static func readChunk(_ fd: Int32, at offset: Int64, count: Int, into buffer: inout ByteBuffer) throws {
        let n = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { pread(fd, $0.baseAddress, count, off_t(offset)) }
        guard n > 0 else { throw BlockStoreError.io(n == 0 ? "object shorter than expected" : "read failed: errno \(errno)") }
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let reader: ObjectReader
        var offset: Int64

        public mutating func next() async throws -> [UInt8]? {
            let end = reader.start + reader.length
            guard offset < end else { return nil }
            let want = Int(Swift.min(Int64(reader.chunkSize), end - offset))
            let chunk: [UInt8]
            switch reader.source {
            case let .file(file):
                let fd = file.fd
                var bytes = [UInt8](repeating: 0, count: want)
                let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, off_t(offset)) }
                guard n > 0 else {
                    throw BlockStoreError.io(n == 0 ? "object shorter than expected" : "read failed: errno \(errno)")
                }
                if n < want { bytes.removeLast(want - n) }
                chunk = bytes
            case .remote:
                chunk = try await reader.nextRun(at: offset, count: want).reduce(into: []) { $0 += $1.readableBytesView }
            }
            offset += Int64(chunk.count)
            return chunk
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(reader: self, offset: start) }
}

/// HTTP bodies: the bytes as NIO buffers, read into them directly rather than through arrays.
extension ObjectReader {
    /// Objects up to this size are answered in one buffer, read at once: a read this small
    /// costs less than the machinery of a streamed body.
    public static let wholeReadLimit: Int64 = 64 * 1024

    /// All of the reader's bytes in one buffer when there are at most `wholeReadLimit`, else nil.
    public func readWhole() async throws -> ByteBuffer? {
        guard length <= Self.wholeReadLimit else { return nil }
        var buffer = ByteBufferAllocator().buffer(capacity: Int(length))
        while buffer.readableBytes < Int(length) {
            try await read(at: start + Int64(buffer.readableBytes), count: Int(length) - buffer.readableBytes, into: &buffer)
        }
        return buffer
    }

    /// A local object's bytes in one buffer, read on the calling thread (a `pread` of at most
    /// `wholeReadLimit` from the page cache costs less than a hop to another thread); nil for a
    /// remote object or a longer read.
    public func readWholeNow() throws -> ByteBuffer? {
        guard case let .file(file) = source, length <= Self.wholeReadLimit else { return nil }
        var buffer = ByteBufferAllocator().buffer(capacity: Int(length))
        while buffer.readableBytes < Int(length) {
            try Self.readChunk(file.fd, at: start + Int64(buffer.readableBytes), count: Int(length) - buffer.readableBytes, into: &buffer)
        }
        return buffer
    }

    /// The bytes as a sequence of buffers of up to the reader's chunk size, read on demand
    /// (a remote object's as curl delivered them).
    public var byteBuffers: ByteBuffers { ByteBuffers(reader: self) }

    public struct ByteBuffers: AsyncSequence, Sendable {
        let reader: ObjectReader

        public struct AsyncIterator: AsyncIteratorProtocol {
            let reader: ObjectReader
            var offset: Int64
            /// The rest of the run read last, handed out one buffer at a time.
            var pending: ArraySlice<ByteBuffer> = []

            public mutating func next() async throws -> ByteBuffer? {
                if pending.isEmpty {
                    let end = reader.start + reader.length
                    guard offset < end else { return nil }
                    pending = try await reader.nextRun(at: offset, count: Int(Swift.min(Int64(reader.chunkSize), end - offset)))[...]
                    offset += Int64(pending.reduce(0) { $0 + $1.readableBytes })
                }
                return pending.popFirst()
            }
        }

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(reader: reader, offset: reader.start) }
    }

    /// Hands the bytes to `sink` as runs of buffers, read on demand: a local object's chunk
    /// as one buffer, a remote one's chunks as curl delivered them, many at a time and
    /// uncopied. A response body writes each run with one flush; joining curl's chunks
    /// instead cost a copy of every byte (15 % of the server's CPU during a 1 GiB GET).
    public func writeRuns(to sink: ([ByteBuffer]) async throws -> Void) async throws {
        let end = start + length
        var offset = start
        while offset < end {
            let run = try await nextRun(at: offset, count: Int(Swift.min(Int64(chunkSize), end - offset)))
            offset += Int64(run.reduce(0) { $0 + $1.readableBytes })
            try await sink(run)
        }
    }

    /// `writeRuns`, for a response written to a connection of `loop`: a backend's bytes are
    /// taken on that loop (`EventLoopExecutor`), so that they go from the curl thread to the
    /// connection without a third thread between (that hand-off cost a sixth of Tarn's CPU
    /// per GiB forwarded). A local object's reads are `pread`s, which stay off the loop.
    public func writeRuns(from loop: (any EventLoop)?, to sink: ([ByteBuffer]) async throws -> Void) async throws {
        guard case .remote = source, let loop else { return try await writeRuns(to: sink) }
        try await withTaskExecutorPreference(EventLoopExecutor(loop)) { try await writeRuns(to: sink) }
    }

    /// Up to `count` bytes at `offset`: one `pread` into one buffer for a local object, the
    /// chunks curl has queued (at least one) for a remote one.
    fileprivate func nextRun(at offset: Int64, count: Int) async throws -> [ByteBuffer] {
        switch source {
        case .file:
            var buffer = ByteBufferAllocator().buffer(capacity: count)
            try await read(at: offset, count: count, into: &buffer)
            return [buffer]
        case let .remote(channel):
            guard let run = try await channel.readRun(max: count) else { throw BlockStoreError.io("object shorter than expected") }
            return run
        }
    }
}
