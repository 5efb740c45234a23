import NIOCore

/// An event loop as a task executor: a task that prefers it runs its jobs on that loop.
/// A response body written from a loop-bound task reaches the connection without a hop
/// between threads (Hummingbird writes directly when it is called on the channel's loop).
public final class EventLoopExecutor: TaskExecutor, @unchecked Sendable {
    let loop: any EventLoop

    public init(_ loop: any EventLoop) { self.loop = loop }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
