/// A hook's `if:` expression, as lakeFS evaluates it: `success()` (the default: no earlier
/// hook of the action failed), `failure()`, `true`, `false`, combined with `!`, `&&`, `||` and
/// parentheses. Anything else is refused when the file is read, not when the hook would run.
public indirect enum HookCondition: Sendable, Equatable {
    case success, failure, constant(Bool)
    case not(HookCondition)
    case and(HookCondition, HookCondition)
    case or(HookCondition, HookCondition)

    public struct ParseError: Error, CustomStringConvertible {
        public var description: String
    }

    public init(_ text: String) throws {
        var parser = Parser(tokens: try Self.tokens(text))
        guard !parser.tokens.isEmpty else { throw ParseError(description: "empty expression") }
        self = try parser.or()
        guard parser.at == parser.tokens.count else {
            throw ParseError(description: "unexpected '\(parser.tokens[parser.at])' in '\(text)'")
        }
    }

    public func evaluate(actionFailed: Bool) -> Bool {
        switch self {
        case .success: return !actionFailed
        case .failure: return actionFailed
        case let .constant(b): return b
        case let .not(c): return !c.evaluate(actionFailed: actionFailed)
        case let .and(a, b): return a.evaluate(actionFailed: actionFailed) && b.evaluate(actionFailed: actionFailed)
        case let .or(a, b): return a.evaluate(actionFailed: actionFailed) || b.evaluate(actionFailed: actionFailed)
        }
    }

    private static func tokens(_ text: String) throws -> [String] {
        var out: [String] = []
        var rest = Substring(text)
        let words = ["success()", "failure()", "true", "false", "&&", "||", "!", "(", ")"]
        while let c = rest.first {
            if c.isWhitespace { rest.removeFirst(); continue }
            guard let w = words.first(where: { rest.hasPrefix($0) }) else {
                throw ParseError(description: "cannot read '\(rest)' (use success(), failure(), true, false, !, &&, ||, parentheses)")
            }
            out.append(w)
            rest.removeFirst(w.count)
        }
        return out
    }

    private struct Parser {
        let tokens: [String]
        var at = 0

        mutating func or() throws -> HookCondition {
            var left = try and()
            while at < tokens.count && tokens[at] == "||" { at += 1; left = .or(left, try and()) }
            return left
        }

        mutating func and() throws -> HookCondition {
            var left = try unary()
            while at < tokens.count && tokens[at] == "&&" { at += 1; left = .and(left, try unary()) }
            return left
        }

        mutating func unary() throws -> HookCondition {
            guard at < tokens.count else { throw ParseError(description: "expression ends too early") }
            let t = tokens[at]
            at += 1
            switch t {
            case "!": return .not(try unary())
            case "success()": return .success
            case "failure()": return .failure
            case "true": return .constant(true)
            case "false": return .constant(false)
            case "(":
                let inner = try or()
                guard at < tokens.count && tokens[at] == ")" else { throw ParseError(description: "missing ')'") }
                at += 1
                return inner
            default: throw ParseError(description: "unexpected '\(t)'")
            }
        }
    }
}
