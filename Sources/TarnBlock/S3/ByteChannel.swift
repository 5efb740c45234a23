import Foundation
import NIOCore

/// A bounded queue of byte chunks between an async task and a thread that blocks (libcurl's
/// callbacks run on a transfer thread and must answer synchronously). Either side may be the
/// writer: an upload's body is written by a task and read by curl's read callback, a
/// download's by curl's write callback and read by a task. A writer waits while `capacity`
/// bytes are queued, so a slow reader slows the writer and memory stays bounded.
///
/// Closing with an error wakes both sides; a reader then gets the error, a writer learns the
/// reader has gone (so curl can abort the transfer).
final class ByteChannel: @unchecked Sendable {
    private let condition = NSCondition()
    private var chunks: [[UInt8]] = []
    /// Offset into `chunks[0]` already consumed by `readBlocking`.
    private var headOffset = 0
    private var queued = 0
    private var finished = false
    private var failure: Error?
    /// The async side waiting for data (reader) or room (writer).
    private var waiter: CheckedContinuation<Void, Never>?
    let capacity: Int
    /// Bytes handed to the reader so far (whether a failed upload may be retried).
    private(set) var delivered: Int64 = 0
    /// Bytes taken from the writer so far (whether a failed download may be retried).
    private(set) var accepted: Int64 = 0

    init(capacity: Int = 4 << 20) { self.capacity = capacity }

    private func wakeAll() {
        condition.broadcast()
        if let w = waiter { waiter = nil; w.resume() }
    }

    // MARK: async writer, blocking reader (uploads)

    /// Queues a chunk, waiting while the channel is full. Throws the reader's failure.
    func write(_ chunk: [UInt8]) async throws {
        while true {
            let ready: Bool = condition.withLock {
                if failure != nil || finished { return true }
                return queued < capacity
            }
            if ready { break }
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                condition.lock()
                if failure != nil || finished || queued < capacity { condition.unlock(); c.resume(); return }
                waiter = c
                condition.unlock()
            }
        }
        try condition.withLock {
            if let failure { throw failure }
            chunks.append(chunk)
            queued += chunk.count
            accepted += Int64(chunk.count)
            wakeAll()
        }
    }

    /// Copies up to `max` bytes into `into`, blocking until some are queued. 0 means the end.
    func readBlocking(into: UnsafeMutableRawPointer, max: Int) throws -> Int {
        condition.lock()
        defer { condition.unlock() }
        while chunks.isEmpty && !finished && failure == nil { condition.wait() }
        if let failure { throw failure }
        guard !chunks.isEmpty else { return 0 }
        var copied = 0
        take(upTo: max) { piece in
            piece.withUnsafeBytes { (into + copied).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            copied += piece.count
        }
        return copied
    }

    /// Hands the reader up to `max` queued bytes, piece by piece, and frees their room for the
    /// writer. Called with the lock held.
    private func take(upTo max: Int, _ sink: (ArraySlice<UInt8>) -> Void) {
        var taken = 0
        while taken < max, !chunks.isEmpty {
            let n = Swift.min(max - taken, chunks[0].count - headOffset)
            sink(chunks[0][headOffset..<(headOffset + n)])
            taken += n
            headOffset += n
            if headOffset == chunks[0].count { chunks.removeFirst(); headOffset = 0 }
        }
        queued -= taken
        delivered += Int64(taken)
        wakeAll()
    }

    // MARK: blocking writer, async reader (downloads)

    /// Queues a copy of `bytes`, blocking while the channel is full. False when the reader
    /// has gone (the transfer should stop).
    func writeBlocking(_ bytes: UnsafeRawBufferPointer) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while queued >= capacity && failure == nil && !finished { condition.wait() }
        guard failure == nil, !finished else { return false }
        chunks.append(Array(bytes))
        queued += bytes.count
        accepted += Int64(bytes.count)
        wakeAll()
        return true
    }

    /// The next chunk, waiting for one; nil at the end.
    func read() async throws -> [UInt8]? {
        while true {
            let next: Result<[UInt8]?, Error>? = condition.withLock {
                if let failure { return .failure(failure) }
                if !chunks.isEmpty {
                    let c = headOffset == 0 ? chunks.removeFirst() : Array(chunks.removeFirst()[headOffset...])
                    headOffset = 0
                    queued -= c.count
                    delivered += Int64(c.count)
                    wakeAll()
                    return .success(c)
                }
                return finished ? .success(nil) : nil
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
            let outcome: Result<Bool, Error>? = condition.withLock {
                if let failure { return .failure(failure) }
                guard !chunks.isEmpty else { return finished ? .success(false) : nil }
                take(upTo: max) { buffer.writeBytes($0) }
                return .success(true)
            }
            if let outcome { return try outcome.get() }
            await untilReadable()
        }
    }

    /// Returns once there is something for the async reader: bytes, the end, or a failure.
    private func untilReadable() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            condition.lock()
            if failure != nil || finished || !chunks.isEmpty { condition.unlock(); c.resume(); return }
            waiter = c
            condition.unlock()
        }
    }

    // MARK: either side

    /// The writer is done: a reader gets what is queued, then the end.
    func finish() {
        condition.withLock {
            finished = true
            wakeAll()
        }
    }

    /// Stops both sides with `error` (the first one wins); queued bytes are dropped.
    func fail(_ error: Error) {
        condition.withLock {
            if failure == nil { failure = error }
            chunks.removeAll()
            queued = 0
            wakeAll()
        }
    }
}
