import AsyncHTTPClient
import Foundation
import NIOCore
import Synchronization

/// Pushes OpenLineage events to an HTTP endpoint (Marquez's `/api/v1/lineage`, say) in the
/// background: `publish` only queues, so the run API never waits on the collector. Each event
/// is POSTed in order, retried with backoff while the collector is down; at most `capacity`
/// events wait (the oldest are dropped beyond that, counted in `dropped`).
public final class OpenLineagePublisher: Sendable {
    public let url: String
    let capacity: Int
    let retries: [Duration]
    private struct State {
        var queue: [[UInt8]] = []
        var draining = false
        var delivered = 0
        var dropped = 0
    }
    private let state = Mutex(State())

    public init(url: String, capacity: Int = 10_000, retries: [Duration] = [.milliseconds(200), .seconds(1), .seconds(5), .seconds(30)]) {
        self.url = url
        self.capacity = capacity
        self.retries = retries
    }

    public var delivered: Int { state.withLock { $0.delivered } }
    public var dropped: Int { state.withLock { $0.dropped } }

    public func publish(_ event: [UInt8]) {
        let start = state.withLock { s -> Bool in
            s.queue.append(event)
            if s.queue.count > capacity { s.queue.removeFirst(); s.dropped += 1 }
            if s.draining { return false }
            s.draining = true
            return true
        }
        if start { Task.detached { await self.drain() } }
    }

    private func drain() async {
        while let event = state.withLock({ s -> [UInt8]? in
            if s.queue.isEmpty { s.draining = false; return nil }
            return s.queue.removeFirst()
        }) {
            if await send(event) { state.withLock { $0.delivered += 1 } } else { state.withLock { $0.dropped += 1 } }
        }
    }

    private func send(_ event: [UInt8]) async -> Bool {
        for attempt in 0...retries.count {
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: event))
            if let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(10)) {
                _ = try? await response.body.collect(upTo: 1 << 20)
                if (200..<300).contains(response.status.code) { return true }
                if (400..<500).contains(response.status.code) && response.status.code != 429 { return false }
            }
            if attempt < retries.count { try? await Task.sleep(for: retries[attempt]) }
        }
        return false
    }
}
