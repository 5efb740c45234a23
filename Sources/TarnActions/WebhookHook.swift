import AsyncHTTPClient
import Foundation
import NIOCore

/// `type: webhook`: POSTs the event as JSON to `url`; a 2xx answer within `timeout` passes.
/// Query parameters and headers may name `{{ ENV.… }}` secrets.
struct WebhookHook {
    let url: String
    let query: [(String, String)]
    let headers: [(String, String)]
    let timeout: Duration

    init(_ p: Properties, environment: [String: String]) throws {
        url = try SecretTemplate.expand(p.string("url") ?? "", environment: environment)
        var query: [(String, String)] = []
        if case let .map(m)? = p["query_params"] {
            for (name, value) in m.sorted(by: { $0.key < $1.key }) {
                switch value {
                case let .string(s): query.append((name, try SecretTemplate.expand(s, environment: environment)))
                case let .list(l): for s in l { query.append((name, try SecretTemplate.expand(s, environment: environment))) }
                case .map: break
                }
            }
        }
        self.query = query
        var headers: [(String, String)] = []
        if case let .map(m)? = p["headers"] {
            for (name, value) in m.sorted(by: { $0.key < $1.key }) {
                if case let .string(s) = value { headers.append((name, try SecretTemplate.expand(s, environment: environment))) }
            }
        }
        self.headers = headers
        timeout = HookProperties.timeout(p)
    }

    var fullURL: String {
        guard !query.isEmpty, var c = URLComponents(string: url) else { return url }
        c.queryItems = (c.queryItems ?? []) + query.map { URLQueryItem(name: $0.0, value: $0.1) }
        return c.string ?? url
    }

    /// Runs the request; returns nil on success or the reason it failed. The output shows the
    /// request line and the answer (header values are not written: they may hold secrets).
    func run(payload: Data, output: inout BoundedOutput) async -> String? {
        let target = fullURL
        output.append("Request:\nPOST \(target)\n")
        for (name, _) in headers { output.append("\(name): ***\n") }
        var request = HTTPClientRequest(url: target)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: payload))
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .nanoseconds(GoDuration.nanoseconds(timeout)))
            let body = try await response.body.collect(upTo: output.limit)
            let text = String(buffer: body)
            output.append("Response:\n\(response.status.code) \(response.status.reasonPhrase)\n\(text)\n")
            if (200..<300).contains(response.status.code) { return nil }
            let excerpt = text.trimmingCharacters(in: .whitespacesAndNewlines).prefix(300)
            return "webhook answered \(response.status.code) \(response.status.reasonPhrase)" + (excerpt.isEmpty ? "" : ": \(excerpt)")
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            output.append("Error: no answer within \(GoDuration.describe(timeout))\n")
            return "webhook timed out after \(GoDuration.describe(timeout))"
        } catch let error as NIOTooManyBytesError {
            output.append("Error: \(error)\n")
            return "webhook answer larger than \(output.limit) bytes"
        } catch {
            output.append("Error: \(error)\n")
            return "webhook request failed: \(error)"
        }
    }
}
