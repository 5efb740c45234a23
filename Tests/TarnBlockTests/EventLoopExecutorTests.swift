import Foundation
import NIOCore
import NIOPosix
import Testing
@testable import TarnBlock

struct EventLoopExecutorTests {
    /// A task that prefers the executor runs on its loop, also after a suspension resumed from
    /// another thread (as a read resumed by the curl thread is).
    @Test func aPreferringTaskRunsOnTheLoop() async throws {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let onLoop = await withTaskExecutorPreference(EventLoopExecutor(loop)) { () async -> [Bool] in
            var seen = [loop.inEventLoop]
            for _ in 0..<3 {
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    Thread.detachNewThread { c.resume() }
                }
                seen.append(loop.inEventLoop)
            }
            return seen
        }
        #expect(onLoop == [true, true, true, true])
        #expect(loop.inEventLoop == false)
    }
}
