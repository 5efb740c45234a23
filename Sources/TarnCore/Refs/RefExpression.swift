/// A parsed ref expression: a base name (branch, tag, commit ID or unique prefix), an optional
/// `@` (the branch's committed head, without staging), then `~N` / `^N` steps, chainable
/// (`main~2^2`). `~` alone means `~1`, `^` alone `^1`, and `^0` is the commit itself.
public struct RefExpression: Sendable, Hashable {
    public enum Step: Sendable, Hashable {
        /// N first-parent steps back.
        case ancestor(Int)
        /// The N-th parent (1-based); 0 is the commit itself.
        case parent(Int)
    }

    public var base: String
    public var committedOnly: Bool
    public var steps: [Step]

    public init(parsing text: String) throws(EngineError) {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, !bytes.contains(where: { $0 <= 32 || $0 == 127 }) else {
            throw .invalidArgument("bad ref expression: \(text)")
        }
        let split = bytes.firstIndex(where: { $0 == UInt8(ascii: "~") || $0 == UInt8(ascii: "^") }) ?? bytes.count
        var baseBytes = Array(bytes[..<split])
        committedOnly = baseBytes.last == UInt8(ascii: "@")
        if committedOnly { baseBytes.removeLast() }
        guard !baseBytes.isEmpty, !baseBytes.contains(UInt8(ascii: "@")) else {
            throw .invalidArgument("bad ref expression: \(text)")
        }
        base = String(decoding: baseBytes, as: UTF8.self)
        steps = []
        var i = split
        while i < bytes.count {
            let op = bytes[i]
            i += 1
            var digits = 0
            var n = 0
            while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 {
                n = n * 10 + Int(bytes[i] - 48)
                digits += 1
                i += 1
                guard n <= 1_000_000 else { throw .invalidArgument("bad ref expression: \(text)") }
            }
            if digits == 0 { n = 1 }
            if op == UInt8(ascii: "~") {
                steps.append(.ancestor(n))
            } else if op == UInt8(ascii: "^") {
                steps.append(.parent(n))
            } else {
                throw .invalidArgument("bad ref expression: \(text)")
            }
        }
    }

    /// A bare name with no `@` and no steps: the only form that can denote a branch with its
    /// staging area.
    public var isBare: Bool { !committedOnly && steps.isEmpty }
}
