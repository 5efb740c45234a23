import Foundation
import NIOCore

/// A bounded queue of byte chunks between an async task and a libcurl transfer, whose
/// callbacks run on the curl thread and must answer at once. Either side may be the writer:
/// an upload's body is written by a task and read by curl's read callback, a download's is
/// written by curl's write callback and read by a task. When the channel is full (or empty,
/// for curl's reads) the curl side is told to pause and leaves a wake-up, which the task side
/// calls once there is room (or data): a slow reader slows the transfer, memory stays bounded,
/// and no thread ever waits on a transfer.
///
/// Closing with an error wakes both sides; a reader then gets the error, a writer learns the
/// reader has gone (so curl can abort the transfer).
final class ByteChannel: @unchecked Sendable {
    private let lock = NSLock()
    /// NIO buffers, so a download's chunks reach the client's connection without another copy
    /// (a buffer's reader index marks what a partial read already took).
    private var chunks: [ByteBuffer] = []
    private let allocator = ByteBufferAllocator()
    private var queued = 0
    private var finished = false
    private var failure: Error?
    /// The async side waiting for data (reader) or room (writer).
    private var waiter: CheckedContinuation<Void, Never>?
    /// The paused curl transfer's wake-up, called once the state it waited on has changed.
    private var pausedTransfer: (@Sendable () -> Void)?
    let capacity: Int
    /// Bytes handed to the reader so far (whether a failed upload may be retried).
    private(set) var delivered: Int64 = 0
    /// Bytes taken from the writer so far (whether a failed download may be retried).
    private(set) var accepted: Int64 = 0

    init(capacity: Int = 4 << 20) { self.capacity = capacity }

    /// Called with the lock held. Resuming a continuation only schedules its task, and a
    /// transfer's wake-up only queues an unpause for the curl thread: neither runs code that
    /// could take this lock.
    private func wakeAll() {
        if let w = waiter { waiter = nil; w.resume() }
        if let p = pausedTransfer { pausedTransfer = nil; p() }
    }

    // MARK: async writer, curl reads (uploads)

    /// Queues a chunk, waiting while the channel is full. Throws the reader's failure.
    func write(_ chunk: ByteBuffer) async throws {
        while true {
            let ready: Bool = lock.withLock {
                if failure != nil || finished { return true }
                return queued < capacity
            }
            if ready { break }
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                lock.lock()
                if failure != nil || finished || queued < capacity { lock.unlock(); c.resume(); return }
                waiter = c
                lock.unlock()
            }
        }
        try lock.withLock {
            if let failure { throw failure }
            enqueue(chunk)
        }
    }

    /// What curl's read callback gets: bytes copied, the end of the body, or nothing yet (the
    /// transfer pauses and `wake` is called when a chunk, the end or a failure arrives).
    enum Taken { case bytes(Int), end, pending }

    /// Copies up to `max` queued bytes into `into` without waiting. Throws the writer's failure.
    func tryRead(into: UnsafeMutableRawPointer, max: Int, wake: @escaping @Sendable () -> Void) throws -> Taken {
        lock.lock()
        defer { lock.unlock() }
        if let failure { throw failure }
        guard !chunks.isEmpty else {
            if finished { return .end }
            pausedTransfer = wake
            return .pending
        }
        var copied = 0
        take(upTo: max) { piece in
            piece.withUnsafeReadableBytes { (into + copied).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            copied += piece.readableBytes
        }
        return .bytes(copied)
    }

    /// Hands the reader up to `max` queued bytes, as slices of the queued chunks (no copy),
    /// and frees their room for the writer. Called with the lock held.
    private func take(upTo max: Int, _ sink: (ByteBuffer) -> Void) {
        var taken = 0
        while taken < max, !chunks.isEmpty {
            let n = Swift.min(max - taken, chunks[0].readableBytes)
            sink(chunks[0].readSlice(length: n)!)
            taken += n
            if chunks[0].readableBytes == 0 { chunks.removeFirst() }
        }
        queued -= taken
        delivered += Int64(taken)
        wakeAll()
    }

    // MARK: curl writes, async reader (downloads)

    /// What curl's write callback learns: the bytes were queued, the channel is full (the
    /// transfer pauses and `wake` is called once the reader has made room), or the reader has
    /// gone (the transfer should stop).
    enum Offered { case queued, full, closed }

    /// Queues a copy of `bytes` unless the channel is full, without waiting.
    func tryWrite(_ bytes: UnsafeRawBufferPointer, wake: @escaping @Sendable () -> Void) -> Offered {
        lock.lock()
        defer { lock.unlock() }
        let room = self.room(wake: wake)
        if case .queued = room { append(bytes) }
        return room
    }

    /// Whether the writer may queue a chunk now (`.queued`), must wait for `wake` (`.full`),
    /// or should stop (`.closed`): for a writer that fills its own buffers (`CurlDownload`)
    /// and asks before it reads.
    func reserve(wake: @escaping @Sendable () -> Void) -> Offered {
        lock.withLock { room(wake: wake) }
    }

    /// Queues a buffer the writer filled itself, as it is.
    func write(chunk: ByteBuffer) {
        lock.withLock { enqueue(chunk) }
    }

    /// Called with the lock held.
    private func room(wake: @escaping @Sendable () -> Void) -> Offered {
        guard failure == nil, !finished else { return .closed }
        guard queued < capacity else {
            pausedTransfer = wake
            return .full
        }
        return .queued
    }

    /// Queues a copy of `bytes` whatever the channel holds: for a body already in memory.
    func writeWhole(_ bytes: UnsafeRawBufferPointer) {
        lock.withLock { append(bytes) }
    }

    private func append(_ bytes: UnsafeRawBufferPointer) {
        var chunk = allocator.buffer(capacity: bytes.count)
        chunk.writeBytes(bytes)
        enqueue(chunk)
    }

    /// Called with the lock held.
    private func enqueue(_ chunk: ByteBuffer) {
        chunks.append(chunk)
        queued += chunk.readableBytes
        accepted += Int64(chunk.readableBytes)
        wakeAll()
    }

    /// The queued chunks, up to `max` bytes (the last one sliced if need be), waiting until
    /// some are queued; nil at the end. No copy: curl's chunks go on to the client's
    /// connection as they are, written together and flushed once.
    func readRun(max: Int) async throws -> [ByteBuffer]? {
        while true {
            let next: Result<[ByteBuffer]?, Error>? = lock.withLock {
                if let failure { return .failure(failure) }
                guard !chunks.isEmpty else { return finished ? .success(nil) : nil }
                var run: [ByteBuffer] = []
                take(upTo: max) { run.append($0) }
                return .success(run)
            }
            if let next { return try next.get() }
            await untilReadable()
        }
    }

    /// Moves up to `max` of the queued bytes into `buffer`, waiting until some are queued;
    /// false at the end. A reader that takes everything queued at once makes one NIO write of
    /// many curl callbacks' worth instead of one per callback.
    func read(into buffer: inout ByteBuffer, max: Int) async throws -> Bool {
        while true {
            let outcome: Result<Bool, Error>? = lock.withLock {
                if let failure { return .failure(failure) }
                guard !chunks.isEmpty else { return finished ? .success(false) : nil }
                take(upTo: max) { buffer.writeImmutableBuffer($0) }
                return .success(true)
            }
            if let outcome { return try outcome.get() }
            await untilReadable()
        }
    }

    /// Returns once there is something for the async reader: bytes, the end, or a failure.
    private func untilReadable() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            lock.lock()
            if failure != nil || finished || !chunks.isEmpty { lock.unlock(); c.resume(); return }
            waiter = c
            lock.unlock()
        }
    }

    // MARK: either side

    /// The writer is done: a reader gets what is queued, then the end.
    func finish() {
        lock.withLock {
            finished = true
            wakeAll()
        }
    }

    /// Stops both sides with `error` (the first one wins); queued bytes are dropped.
    func fail(_ error: Error) {
        lock.withLock {
            if failure == nil { failure = error }
            chunks.removeAll()
            queued = 0
            wakeAll()
        }
    }
}
