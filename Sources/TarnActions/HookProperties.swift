import Foundation

/// What each hook type reads from its `properties`, checked when the file is read so that
/// `tarn actions validate` and a run report the same problems.
enum HookProperties {
    struct Problem {
        var line: Int?
        var message: String
    }

    static let defaultTimeout: Duration = .seconds(60)

    static func problems(_ type: HookType, _ p: Properties) -> [Problem] {
        var out: [Problem] = []
        func check(_ key: String, _ ok: Bool, _ message: String) { if !ok { out.append(Problem(line: p.line(key), message: message)) } }
        if let t = p["timeout"] {
            if case let .string(s) = t { check("timeout", GoDuration.parse(s) != nil, "timeout must be a duration such as 30s, 1m or 1m30s: '\(s)'") }
            else { check("timeout", false, "timeout must be a duration such as 30s") }
        }
        switch type {
        case .webhook:
            check("url", p.string("url") != nil, "properties.url is required")
            if let url = p.string("url"), !url.contains("{{") {
                check("url", URL(string: url).map { ["http", "https"].contains($0.scheme?.lowercased() ?? "") && $0.host != nil } ?? false,
                      "url must be an http or https URL: '\(url)'")
            }
            if let q = p["query_params"] {
                var ok = false
                if case let .map(m) = q {
                    ok = m.values.allSatisfy { if case .map = $0 { return false }; return true }
                }
                check("query_params", ok, "query_params must map names to a string or a list of strings")
            }
            if let h = p["headers"] {
                var ok = false
                if case let .map(m) = h { ok = m.values.allSatisfy { if case .string = $0 { return true }; return false } }
                check("headers", ok, "headers must map header names to strings")
            }
            for key in p.values.keys where !["url", "timeout", "query_params", "headers"].contains(key) {
                check(key, false, "unknown webhook property '\(key)' (expected url, timeout, query_params, headers)")
            }
        case .exec:
            let command = p.string("command")
            check("command", command != nil, "properties.command is required")
            if let command { check("command", command.hasPrefix("/"), "command must be an absolute path: '\(command)'") }
            if let a = p["args"] {
                var ok = false
                if case .list = a { ok = true }
                check("args", ok, "args must be a list of strings")
            }
            for key in p.values.keys where !["command", "args", "timeout"].contains(key) {
                check(key, false, "unknown exec property '\(key)' (expected command, args, timeout)")
            }
        }
        return out
    }

    static func timeout(_ p: Properties) -> Duration {
        p.string("timeout").flatMap(GoDuration.parse) ?? defaultTimeout
    }
}

/// Go's duration syntax (`time.ParseDuration`), which lakeFS's files use for timeouts:
/// decimal numbers with units ns, us (µs), ms, s, m, h, concatenated (`1m30s`).
enum GoDuration {
    static func parse(_ text: String) -> Duration? {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        guard !rest.isEmpty else { return nil }
        if rest == "0" { return .zero }
        var nanos = 0.0
        let units: [(String, Double)] = [("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9)]
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest.removeFirst(number.count)
            // Longest unit first: "ms" before "m", "ns" before ... ("s" last among those ending in s).
            guard let unit = units.sorted(by: { $0.0.count > $1.0.count }).first(where: { rest.hasPrefix($0.0) }) else { return nil }
            rest.removeFirst(unit.0.count)
            nanos += value * unit.1
        }
        return .nanoseconds(Int64(nanos))
    }

    static func nanoseconds(_ d: Duration) -> Int64 {
        let c = d.components
        return c.seconds * 1_000_000_000 + c.attoseconds / 1_000_000_000
    }

    /// `30s`, `0.5s`: how a timeout is named in messages.
    static func describe(_ d: Duration) -> String {
        let c = d.components
        if c.attoseconds == 0 { return "\(c.seconds)s" }
        return String(format: "%.3gs", Double(nanoseconds(d)) / 1e9)
    }
}

/// `{{ ENV.NAME }}` in hook properties: replaced by the server's environment variable, for
/// secrets that do not belong in a repository. Only variables named `TARN_ACTIONS_*` or
/// `LAKEFSACTIONS_*` can be read, so an action file cannot exfiltrate the server's own
/// credentials.
enum SecretTemplate {
    static let allowedPrefixes = ["TARN_ACTIONS_", "LAKEFSACTIONS_"]
    struct Missing: Error, CustomStringConvertible {
        var description: String
    }

    static func expand(_ text: String, environment: [String: String]) throws -> String {
        var out = ""
        var rest = Substring(text)
        while let open = rest.range(of: "{{") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}") else { break }
            let inner = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            guard inner.hasPrefix("ENV.") else {
                out += rest[open.lowerBound..<close.upperBound]
                rest = rest[close.upperBound...]
                continue
            }
            let name = String(inner.dropFirst(4))
            guard allowedPrefixes.contains(where: name.hasPrefix) else {
                throw Missing(description: "{{ ENV.\(name) }}: only variables named TARN_ACTIONS_* or LAKEFSACTIONS_* can be used")
            }
            guard let value = environment[name] else {
                throw Missing(description: "{{ ENV.\(name) }}: the server has no such environment variable")
            }
            out += value
            rest = rest[close.upperBound...]
        }
        return out + rest
    }
}
