import Foundation

/// Threads that run blocking curl transfers, kept for reuse: creating a thread per request
/// (clone, a stack mapped and unmapped) cost about a tenth of the server's CPU on 4 KiB GETs
/// from an S3 backend. A job goes to an idle thread or, when none is idle, to a new one, so a
/// transfer held up by a slow client never delays another. Threads idle for `idleLifetime`
/// end; each job has a thread of its own, as a transfer blocks it for its whole duration.
final class TransferThreads: @unchecked Sendable {
    static let shared = TransferThreads()

    /// An idle thread waiting for its next job on its own condition.
    private final class Worker: @unchecked Sendable {
        let wake = NSCondition()
        var job: (@Sendable () -> Void)?
    }

    private let lock = NSLock()
    private var idle: [Worker] = []
    private let idleLifetime: TimeInterval = 30

    func run(_ job: @escaping @Sendable () -> Void) {
        if let worker = lock.withLock({ idle.popLast() }) {
            worker.wake.lock()
            worker.job = job
            worker.wake.signal()
            worker.wake.unlock()
            return
        }
        let worker = Worker()
        worker.job = job
        let thread = Thread { [self] in loop(worker) }
        thread.stackSize = 512 << 10
        thread.start()
    }

    private func loop(_ worker: Worker) {
        while true {
            worker.wake.lock()
            let job = worker.job
            worker.job = nil
            worker.wake.unlock()
            job?()
            lock.withLock { idle.append(worker) }
            worker.wake.lock()
            var deadline = Date().addingTimeInterval(idleLifetime)
            while worker.job == nil {
                if !worker.wake.wait(until: deadline), worker.job == nil {
                    // Idle too long: leave, unless `run` has just taken this worker (then its
                    // job is on the way).
                    let stillIdle = lock.withLock { () -> Bool in
                        guard let i = idle.firstIndex(where: { $0 === worker }) else { return false }
                        idle.remove(at: i)
                        return true
                    }
                    if stillIdle {
                        worker.wake.unlock()
                        return
                    }
                    deadline = .distantFuture
                }
            }
            worker.wake.unlock()
        }
    }
}
