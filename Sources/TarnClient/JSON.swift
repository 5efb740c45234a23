import Foundation

/// A JSON document as the server sent it. The CLI prints lakeFS's own shapes with
/// `--output json` (scripts written against lakectl/lakeFS keep working) and reads a few
/// fields for its tables, so it keeps documents whole instead of mapping every schema.
public enum JSON: Codable, Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSON])
    case object([String: JSON])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSON].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSON].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case let .bool(b): try c.encode(b)
        case let .number(n):
            if n == n.rounded(), abs(n) < 1e15 { try c.encode(Int64(n)) } else { try c.encode(n) }
        case let .string(s): try c.encode(s)
        case let .array(a): try c.encode(a)
        case let .object(o): try c.encode(o)
        }
    }

    public subscript(key: String) -> JSON { if case let .object(o) = self { return o[key] ?? .null }; return .null }
    public var string: String? { if case let .string(s) = self { return s }; return nil }
    public var int: Int64? { if case let .number(n) = self { return Int64(n) }; return nil }
    public var bool: Bool? { if case let .bool(b) = self { return b }; return nil }
    public var array: [JSON] { if case let .array(a) = self { return a }; return [] }
    public var object: [String: JSON] { if case let .object(o) = self { return o }; return [:] }

    /// `s` for a string, the compact JSON text otherwise (for table cells).
    public var text: String {
        switch self {
        case .null: return ""
        case let .string(s): return s
        default: return (try? String(decoding: JSONEncoder().encode(self), as: UTF8.self)) ?? ""
        }
    }

    public static func parse(_ bytes: some Collection<UInt8>) -> JSON? { try? JSONDecoder().decode(JSON.self, from: Data(bytes)) }

    /// Sorted-key JSON text (pretty when asked), for output scripts can diff.
    public func rendered(pretty: Bool = false) -> String {
        let e = JSONEncoder()
        e.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: e.encode(self), as: UTF8.self)) ?? "null"
    }
}

extension JSON: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
}
