import Synchronization

/// A bounded, thread-safe cache for immutable values keyed by content address. Values never
/// go stale (the key is the hash of the bytes), so there is no invalidation, only eviction of
/// the least recently used values once the total cost passes `capacity`.
public final class ImmutableCache<Value: Sendable>: Sendable {
    private struct Slot {
        var value: Value
        var cost: Int
        var lastUsed: UInt64
    }

    private struct State {
        var slots: [String: Slot] = [:]
        var totalCost = 0
        var clock: UInt64 = 0
    }

    private let state = Mutex(State())
    public let capacity: Int

    public init(capacity: Int) { self.capacity = capacity }

    /// Number of values held.
    public var count: Int { state.withLock { $0.slots.count } }

    public func value(for key: String) -> Value? {
        state.withLock { s in
            s.clock += 1
            guard var slot = s.slots[key] else { return nil }
            slot.lastUsed = s.clock
            s.slots[key] = slot
            return slot.value
        }
    }

    public func insert(_ value: Value, for key: String, cost: Int) {
        state.withLock { s in
            s.clock += 1
            if let old = s.slots[key] { s.totalCost -= old.cost }
            s.slots[key] = Slot(value: value, cost: cost, lastUsed: s.clock)
            s.totalCost += cost
            if s.totalCost > capacity { Self.evict(&s, target: capacity * 3 / 4) }
        }
    }

    private static func evict(_ s: inout State, target: Int) {
        let byAge = s.slots.sorted { $0.value.lastUsed < $1.value.lastUsed }
        for (key, slot) in byAge {
            if s.totalCost <= target { break }
            s.slots[key] = nil
            s.totalCost -= slot.cost
        }
    }
}
