import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TarnCore

/// What the gateway reads off a request: bucket (repository), key (`<ref>/<path>`), the
/// decoded query, lower-cased headers, and the same as SigV4 sees it.
struct S3Request {
    let http: Request
    let bucket: String?
    /// The whole key, `<ref>/<path>` (nil at the bucket level).
    var key: String?
    let query: [(name: String, value: String)]
    let headers: [String: String]
    /// The event loop of the client's connection, when known.
    var eventLoop: (any EventLoop)?

    init(_ request: Request, domain: String?) {
        http = request
        var headers = [String: String](minimumCapacity: 16)
        for field in request.headers {
            let name = field.name.canonicalName // already lower-case
            headers[name] = headers[name].map { $0 + "," + field.value } ?? field.value
        }
        // HTTPTypes moves Host into the request's authority; SigV4 signs it as a header.
        if headers["host"] == nil, let authority = request.head.authority { headers["host"] = authority }
        self.headers = headers
        query = Self.parseQuery(request.uri.query ?? "")
        let path = Self.percentDecode(request.uri.path)
        var rest = Substring(path.hasPrefix("/") ? String(path.dropFirst()) : path)
        // Virtual-host style: `<bucket>.<domain>` names the bucket; the path is all key.
        if let domain, let host = headers["host"].map(Self.hostName), let name = Self.subdomain(of: host, domain) {
            bucket = String(name)
        } else if rest.isEmpty {
            bucket = nil
        } else {
            let slash = rest.firstIndex(of: "/")
            bucket = String(rest[..<(slash ?? rest.endIndex)])
            rest = slash.map { rest[rest.index(after: $0)...] } ?? ""
        }
        key = rest.isEmpty ? nil : String(rest)
    }

    /// A Host header's name, without its port.
    static func hostName(_ host: String) -> Substring {
        host.utf8.firstIndex(of: UInt8(ascii: ":")).map { host[..<$0] } ?? host[...]
    }

    /// `bucket` for `bucket.<domain>`; nil for anything else (`domain` itself included).
    static func subdomain(of name: Substring, _ domain: String) -> Substring? {
        let n = name.utf8, d = domain.utf8
        guard n.count > d.count + 1 else { return nil }
        let dot = n.index(n.endIndex, offsetBy: -(d.count + 1))
        guard n[dot] == UInt8(ascii: "."), n[n.index(after: dot)...].elementsEqual(d) else { return nil }
        return name[..<dot]
    }

    func q(_ name: String) -> String? { query.first(where: { $0.name == name })?.value }
    func has(_ name: String) -> Bool { query.contains(where: { $0.name == name }) }

    var sigV4: SigV4.Request {
        SigV4.Request(method: http.method.rawValue, path: Self.percentDecode(http.uri.path), query: query, headers: headers)
    }

    /// The key split into ref and path (`main/a/b` → `main`, `a/b`); the path may be empty.
    var refAndPath: (ref: String, path: String)? { key.map(Self.split) }

    /// Any key split into ref and path; the path may be empty.
    static func split(_ key: String) -> (ref: String, path: String) {
        guard let slash = key.firstIndex(of: "/") else { return (key, "") }
        return (String(key[..<slash]), String(key[key.index(after: slash)...]))
    }

    static func parseQuery(_ raw: String) -> [(name: String, value: String)] {
        raw.split(separator: "&", omittingEmptySubsequences: true).map { item in
            let kv = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (percentDecode(String(kv[0])), kv.count > 1 ? percentDecode(String(kv[1])) : "")
        }
    }

    /// `%XX` decoding only (a `+` stays a plus, as S3 reads paths and as SigV4 signs them).
    static func percentDecode(_ s: String) -> String {
        guard s.utf8.contains(UInt8(ascii: "%")) else { return s }
        var out = [UInt8]()
        out.reserveCapacity(s.utf8.count)
        let b = Array(s.utf8)
        var i = 0
        func hex(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        while i < b.count {
            if b[i] == UInt8(ascii: "%"), i + 2 < b.count, let h = hex(b[i + 1]), let l = hex(b[i + 2]) {
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
