import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A client of the lakeFS REST API (Tarn's or lakeFS's own): HTTP Basic with the access key,
/// JSON in and out, object bytes streamed both ways. One connection pool per process.
public final class APIClient: Sendable {
    public let configuration: ClientConfiguration
    let http: HTTPClient
    let authorization: String

    public init(_ configuration: ClientConfiguration) {
        self.configuration = configuration
        var c = HTTPClient.Configuration()
        c.timeout = .init(connect: .seconds(10), read: .seconds(300))
        c.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: c)
        authorization = "Basic " + Data("\(configuration.accessKeyID):\(configuration.secretAccessKey)".utf8).base64EncodedString()
    }

    public func shutdown() async { try? await http.shutdown() }

    /// `/repositories/a b` plus query items → the full URL (path segments and values encoded).
    func url(_ path: String, _ query: [(String, String?)] = []) -> String {
        var s = configuration.endpoint + path
        let items = query.compactMap { k, v in v.map { "\(k)=\(Self.encode($0))" } }
        if !items.isEmpty { s += "?" + items.joined(separator: "&") }
        return s
    }

    /// Percent-encodes everything but unreserved characters (and `/` when `slash`).
    public static func encode(_ s: String, slash: Bool = false) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: slash ? "-._~/" : "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }

    /// A path segment (repository, branch, ref) encoded for a URL path.
    public static func segment(_ s: String) -> String { encode(s) }

    func request(_ method: HTTPMethod, _ path: String, query: [(String, String?)] = [], body: HTTPClientRequest.Body? = nil,
                 contentType: String? = nil, headers extra: [(String, String)] = []) -> HTTPClientRequest {
        var r = HTTPClientRequest(url: url(path, query))
        r.method = method
        r.headers.add(name: "Authorization", value: authorization)
        r.headers.add(name: "User-Agent", value: "tarn-cli/0.1")
        if let contentType { r.headers.add(name: "Content-Type", value: contentType) }
        for (k, v) in extra { r.headers.add(name: k, value: v) }
        r.body = body
        return r
    }

    func execute(_ r: HTTPClientRequest) async throws(ClientError) -> HTTPClientResponse {
        do {
            return try await http.execute(r, timeout: .seconds(600))
        } catch {
            throw .transport("cannot reach \(configuration.endpoint): \(Self.describe(error))")
        }
    }

    static func describe(_ error: Error) -> String {
        let text = "\(error)"
        if text.contains("connectionRefused") || text.contains("Connection refused") { return "connection refused" }
        if text.contains("connectTimeout") { return "connection timed out" }
        return text
    }

    /// Sends a request and returns the JSON answer (`.null` for an empty body); an error
    /// status becomes `ClientError.server` with the server's message.
    public func call(_ method: HTTPMethod, _ path: String, query: [(String, String?)] = [], json: JSON? = nil) async throws(ClientError) -> JSON {
        try await exchange(method, path, query: query, json: json).json
    }

    /// `call` with request headers sent and the answer's headers returned (`ETag` / `If-Match`
    /// on the branch protection rules).
    public func exchange(_ method: HTTPMethod, _ path: String, query: [(String, String?)] = [], json: JSON? = nil,
                         headers: [(String, String)] = []) async throws(ClientError) -> (json: JSON, headers: HTTPHeaders) {
        var body: HTTPClientRequest.Body?
        if let json { body = .bytes(ByteBuffer(string: json.rendered())) }
        let response = try await execute(request(method, path, query: query, body: body, contentType: json == nil ? nil : "application/json",
                                                 headers: headers))
        let bytes = try await collect(response)
        try Self.check(response.status, bytes)
        let doc: JSON = bytes.readableBytes == 0 ? .null : (JSON.parse(bytes.readableBytesView) ?? .string(String(buffer: bytes)))
        return (doc, response.headers)
    }

    /// The raw bytes of an answer, as text (a hook run's output).
    public func text(_ path: String) async throws(ClientError) -> String {
        let response = try await execute(request(.GET, path))
        let bytes = try await collect(response)
        try Self.check(response.status, bytes)
        return String(buffer: bytes)
    }

    func collect(_ response: HTTPClientResponse, limit: Int = 64 << 20) async throws(ClientError) -> ByteBuffer {
        do { return try await response.body.collect(upTo: limit) } catch { throw .transport("reading the answer: \(Self.describe(error))") }
    }

    static func check(_ status: HTTPResponseStatus, _ body: ByteBuffer) throws(ClientError) {
        guard status.code >= 300 else { return }
        let json = JSON.parse(body.readableBytesView)
        let message = json?["message"].string ?? String(buffer: body).trimmingCharacters(in: .whitespacesAndNewlines)
        throw .server(status: Int(status.code), message: message.isEmpty ? "\(status.code) \(status.reasonPhrase)" : message, body: json)
    }

    /// Every item of a paginated lakeFS listing (`pagination.has_more` / `next_offset`), up to
    /// `limit` items.
    public func list(_ path: String, query: [(String, String?)] = [], after start: String? = nil, limit: Int = .max,
                     pageSize: Int = 1000) async throws(ClientError) -> [JSON] {
        var out: [JSON] = []
        var after = start
        while out.count < limit {
            let page = try await call(.GET, path, query: query + [("after", after), ("amount", String(min(pageSize, limit - out.count)))])
            out += page["results"].array
            guard page["pagination"]["has_more"].bool == true, let next = page["pagination"]["next_offset"].string, !next.isEmpty else { break }
            after = next
        }
        return Array(out.prefix(limit))
    }
}
