import Foundation
import TarnCore
import Yams

/// One action file (`_lakefs_actions/*.yaml`), in lakeFS's format: which events trigger it, on
/// which branches, and the hooks it runs in order. Parsed from the YAML node tree so every
/// error can name the line it is about.
public struct Action: Sendable {
    public var name: String
    public var description: String
    /// Event → branch globs; an empty list means every branch.
    public var on: [HookEventType: [String]]
    public var hooks: [Hook]
    /// Where the file was read from (a repository path, or a local file for `validate`).
    public var source: String

    public struct Hook: Sendable {
        public var id: String
        public var type: String
        public var description: String
        /// The `if` expression; nil runs the hook while the action has not failed.
        public var condition: HookCondition?
        public var properties: Properties
        public var line: Int
    }

    /// Whether the event triggers this action on `branch` (`path.Match`-style globs, as lakeFS).
    public func matches(_ event: HookEventType, branch: String) -> Bool {
        guard let globs = on[event] else { return false }
        return globs.isEmpty || globs.contains { PathGlob.matches($0, branch) }
    }
}

/// Hook properties as the file gave them: strings, lists of strings and string maps; other
/// scalars are kept as their text.
public struct Properties: Sendable {
    public enum Value: Sendable {
        case string(String)
        case list([String])
        case map([String: Value])
    }

    var values: [String: (value: Value, line: Int)] = [:]

    public subscript(_ key: String) -> Value? { values[key]?.value }

    public func line(_ key: String) -> Int? { values[key]?.line }

    public func string(_ key: String) -> String? {
        if case let .string(s)? = self[key], !s.isEmpty { return s }
        return nil
    }
}

/// A problem in an action file, with the line (1-based) it is on when one can be named.
public struct ActionFileError: Error, Sendable, CustomStringConvertible, Equatable {
    public var source: String
    public var line: Int?
    public var message: String

    public var description: String {
        line.map { "\(source):\($0): \(message)" } ?? "\(source): \(message)"
    }
}

/// The hook types Tarn runs. lakeFS's `airflow` and `lua` are recognised and refused with a
/// message saying so, rather than reported as unknown.
public enum HookType: String, Sendable, CaseIterable {
    case webhook, exec
    static let lakeFSOnly: Set<String> = ["airflow", "lua"]
}

extension Action {
    /// lakeFS's `^\w[\w\-. ]+$`.
    static func isValidName(_ s: String) -> Bool {
        func word(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" }
        guard let first = s.first, word(first), s.count >= 2 else { return false }
        return s.dropFirst().allSatisfy { word($0) || "-. ".contains($0) }
    }

    /// lakeFS's `^[_a-zA-Z][\-_a-zA-Z0-9]{1,255}$`.
    static func isValidHookID(_ s: String) -> Bool {
        let u = Array(s.utf8)
        func alpha(_ b: UInt8) -> Bool { (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 95 }
        guard u.count >= 2, u.count <= 256, alpha(u[0]) else { return false }
        return u.dropFirst().allSatisfy { alpha($0) || ($0 >= 48 && $0 <= 57) || $0 == 45 }
    }

    /// Parses and validates one file; every problem found, not only the first.
    public static func parse(_ text: String, source: String) -> Result<Action, ActionFileErrors> {
        var errors: [ActionFileError] = []
        func fail(_ line: Int?, _ message: String) { errors.append(ActionFileError(source: source, line: line, message: message)) }
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                fail(1, "the file is empty")
                return .failure(ActionFileErrors(errors))
            }
            root = node
        } catch let YamlError.scanner(_, problem, mark, _), let YamlError.parser(_, problem, mark, _), let YamlError.composer(_, problem, mark, _) {
            fail(mark.line, "not valid YAML: \(problem)")
            return .failure(ActionFileErrors(errors))
        } catch {
            fail(nil, "not valid YAML: \(error)")
            return .failure(ActionFileErrors(errors))
        }
        guard let top = root.mapping else {
            fail(root.line, "an action file is a YAML mapping with name, on and hooks")
            return .failure(ActionFileErrors(errors))
        }
        var action = Action(name: "", description: "", on: [:], hooks: [], source: source)
        var sawOn = false, sawHooks = false
        for (key, value) in top {
            switch key.string ?? "" {
            case "name":
                action.name = value.string ?? ""
                if !isValidName(action.name) {
                    fail(value.line, "name must start with a letter, digit or _ and use only letters, digits, _, -, . and spaces: '\(action.name)'")
                }
            case "description":
                action.description = value.string ?? ""
            case "on":
                sawOn = true
                action.on = parseOn(value, fail)
            case "hooks":
                sawHooks = true
                action.hooks = parseHooks(value, fail)
            default:
                fail(key.line, "unknown key '\(key.string ?? "")' (expected name, description, on, hooks)")
            }
        }
        if action.name.isEmpty && !top.contains(where: { $0.key.string == "name" }) { fail(root.line, "'name' is required") }
        if !sawOn { fail(root.line, "'on' is required") }
        if !sawHooks { fail(root.line, "'hooks' is required") }
        return errors.isEmpty ? .success(action) : .failure(ActionFileErrors(errors))
    }

    private static func parseOn(_ node: Node, _ fail: (Int?, String) -> Void) -> [HookEventType: [String]] {
        guard let map = node.mapping, !map.isEmpty else {
            fail(node.line, "'on' must map at least one event (pre-commit, pre-merge, ...) to its settings")
            return [:]
        }
        var on: [HookEventType: [String]] = [:]
        for (key, value) in map {
            let name = key.string ?? ""
            guard let event = HookEventType(rawValue: name) else {
                fail(key.line, "event '\(name)' is not supported (supported: \(HookEventType.allCases.map(\.rawValue).joined(separator: ", ")))")
                continue
            }
            var globs: [String] = []
            if value.null == nil {
                guard let settings = value.mapping else {
                    fail(value.line, "the settings of \(name) must be a mapping (branches: [...]) or empty")
                    continue
                }
                for (k, v) in settings {
                    guard k.string == "branches" else {
                        fail(k.line, "unknown key '\(k.string ?? "")' under \(name) (expected branches)")
                        continue
                    }
                    if event.isTagEvent {
                        fail(k.line, "'branches' is not supported on tag events (\(name))")
                        continue
                    }
                    guard let list = v.sequence else {
                        fail(v.line, "branches must be a list of branch names or globs")
                        continue
                    }
                    for item in list {
                        guard let glob = item.string, !glob.isEmpty, PathGlob.isValid(glob) else {
                            fail(item.line, "not a valid branch glob: '\(item.string ?? "")'")
                            continue
                        }
                        globs.append(glob)
                    }
                }
            }
            on[event] = globs
        }
        return on
    }

    private static func parseHooks(_ node: Node, _ fail: (Int?, String) -> Void) -> [Hook] {
        guard let list = node.sequence, !list.isEmpty else {
            fail(node.line, "'hooks' must be a list of at least one hook")
            return []
        }
        var hooks: [Hook] = []
        var seen: Set<String> = []
        for (i, item) in list.enumerated() {
            guard let map = item.mapping else {
                fail(item.line, "hook \(i + 1) must be a mapping with id, type and properties")
                continue
            }
            var hook = Hook(id: "", type: "", description: "", condition: nil, properties: Properties(), line: item.line ?? 0)
            for (key, value) in map {
                switch key.string ?? "" {
                case "id": hook.id = value.string ?? ""
                case "type": hook.type = value.string ?? ""
                case "description": hook.description = value.string ?? ""
                case "if":
                    do { hook.condition = try HookCondition(value.string ?? "") } catch {
                        fail(value.line, "hook '\(hook.id)': if: \(error)")
                    }
                case "properties":
                    if value.null != nil { break }
                    guard let props = value.mapping else {
                        fail(value.line, "hook '\(hook.id)': properties must be a mapping")
                        break
                    }
                    for (k, v) in props { hook.properties.values[k.string ?? ""] = (propertyValue(v), v.line ?? 0) }
                default:
                    fail(key.line, "unknown key '\(key.string ?? "")' in hook \(i + 1) (expected id, type, description, if, properties)")
                }
            }
            if !isValidHookID(hook.id) {
                fail(item.line, "hook \(i + 1): id must match [_a-zA-Z][-_a-zA-Z0-9]{1,255}: '\(hook.id)'")
            } else if !seen.insert(hook.id).inserted {
                fail(item.line, "hook \(i + 1): duplicate id '\(hook.id)'")
            }
            if let type = HookType(rawValue: hook.type) {
                for problem in HookProperties.problems(type, hook.properties) { fail(problem.line ?? hook.line, "hook '\(hook.id)': \(problem.message)") }
            } else if HookType.lakeFSOnly.contains(hook.type) {
                fail(item.line, "hook '\(hook.id)': type '\(hook.type)' is a lakeFS hook type Tarn does not run (use webhook or exec)")
            } else {
                fail(item.line, "hook '\(hook.id)': type '\(hook.type)' unknown (expected webhook or exec)")
            }
            hooks.append(hook)
        }
        return hooks
    }

    private static func propertyValue(_ node: Node) -> Properties.Value {
        if let seq = node.sequence { return .list(seq.map { $0.string ?? "" }) }
        if let map = node.mapping {
            var out: [String: Properties.Value] = [:]
            for (k, v) in map { out[k.string ?? ""] = propertyValue(v) }
            return .map(out)
        }
        return .string(node.null != nil ? "" : node.string ?? "")
    }
}

/// Every problem of one file, one per line when printed.
public struct ActionFileErrors: Error, Sendable, CustomStringConvertible {
    public var errors: [ActionFileError]
    init(_ errors: [ActionFileError]) { self.errors = errors }
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

extension Node {
    /// The 1-based line the node starts on.
    var line: Int? { mark.map(\.line) }
}

/// Go's `path.Match` subset lakeFS's branch filters use: `*` (any run of characters but `/`),
/// `?` (one character) and `[...]` classes.
enum PathGlob {
    static func isValid(_ pattern: String) -> Bool {
        var depth = 0
        for c in pattern {
            if c == "[" { depth += 1 } else if c == "]" { depth -= 1 }
            if depth < 0 || depth > 1 { return false }
        }
        return depth == 0
    }

    static func matches(_ pattern: String, _ name: String) -> Bool {
        match(Array(pattern), 0, Array(name), 0)
    }

    private static func match(_ p: [Character], _ pi: Int, _ n: [Character], _ ni: Int) -> Bool {
        if pi == p.count { return ni == n.count }
        switch p[pi] {
        case "*":
            var k = ni
            while true {
                if match(p, pi + 1, n, k) { return true }
                if k == n.count || n[k] == "/" { return false }
                k += 1
            }
        case "?":
            return ni < n.count && n[ni] != "/" && match(p, pi + 1, n, ni + 1)
        case "[":
            guard ni < n.count, let close = p[pi...].firstIndex(of: "]") else { return false }
            var set = Array(p[(pi + 1)..<close])
            let negate = set.first == "^"
            if negate { set.removeFirst() }
            var hit = false
            var i = 0
            while i < set.count {
                if i + 2 < set.count && set[i + 1] == "-" {
                    if set[i] <= n[ni] && n[ni] <= set[i + 2] { hit = true }
                    i += 3
                } else {
                    if set[i] == n[ni] { hit = true }
                    i += 1
                }
            }
            return hit != negate && match(p, close + 1, n, ni + 1)
        default:
            return ni < n.count && p[pi] == n[ni] && match(p, pi + 1, n, ni + 1)
        }
    }
}
