import CLinuxShims

/// Writes an upload in 1 MiB batches on the blocking pool while the caller receives and hashes
/// the next bytes, so MD5 and the kernel's copy into the page cache run on both cores (done
/// one after the other, a single-stream PUT stopped near 300 MB/s). Two buffers take turns,
/// so an upload of any size holds 2 MiB. A small object never fills a batch and is written
/// inline at the end: no hop.
struct PipelinedWriter {
    static let batchSize = 1 << 20
    let fd: Int32
    private var batch: [UInt8] = []
    /// The batch being written; it comes back, emptied, as the next one to fill.
    private var inFlight: Task<[UInt8], Error>?
    /// Bytes handed to the pool so far (the next batch's offset).
    private var written: Int64 = 0

    init(fd: Int32) { self.fd = fd }

    mutating func append(_ bytes: UnsafeRawBufferPointer) { batch.append(contentsOf: bytes) }

    /// Hands a full batch to the pool, after the previous one is written.
    mutating func writeFullBatch() async throws {
        if batch.count >= Self.batchSize { try await handOff() }
    }

    mutating func finish() async throws {
        if inFlight == nil {
            try batch.withUnsafeBytes { try LocalBlockStore.writeRaw(fd, $0, at: written) }
            batch = []
            return
        }
        try await handOff()
        _ = try await inFlight?.value
        inFlight = nil
    }

    /// Waits for the write in flight, whatever its outcome, so the file can be dropped.
    mutating func abandon() async {
        _ = try? await inFlight?.value
        inFlight = nil
    }

    private mutating func handOff() async throws {
        var next = try await inFlight?.value ?? []
        next.removeAll(keepingCapacity: true)
        if next.capacity < Self.batchSize { next.reserveCapacity(Self.batchSize) }
        let full = batch, fd = self.fd, offset = written
        batch = next
        written += Int64(full.count)
        inFlight = Task {
            try await BlockingPool.run {
                try full.withUnsafeBytes { try LocalBlockStore.writeRaw(fd, $0, at: offset) }
                // Start writing this batch to disk now, so the fsync that publishes the object
                // does not flush gigabytes at once (0.9 s for 2 GiB here). Best effort.
                _ = tarn_start_writeback(fd, offset, Int64(full.count))
                return full
            }
        }
    }
}
