import Foundation
import Hummingbird
import TarnCatalog
import TarnCore

/// Recorded action runs, as lakeFS serves them: `GET /repositories/{repository}/actions/runs`
/// (filter by `branch`, `commit`), one run, its hook runs, and one hook run's output as text.
struct Actions {
    let catalog: Catalog

    func register<Context: UserRequestContext>(_ api: RouterGroup<Context>) {
        api.get("repositories/:repository/actions/runs") { request, context in
            let q = PageQuery(request)
            let query = request.uri.queryParameters
            let branch = query.get("branch").flatMap { $0.isEmpty ? nil : String($0) }
            let commit = query.get("commit").flatMap { $0.isEmpty ? nil : String($0) }
            let page = try catalog.actionRuns(repository: try context.parameters.require("repository"), branch: branch,
                                              commitID: commit, after: q.after, amount: q.amount)
            return ListResponse(page.items.map(ActionRunJSON.init), hasMore: page.hasMore) { $0.run_id }
        }
        api.get("repositories/:repository/actions/runs/:run") { _, context in
            ActionRunJSON(try catalog.actionRun(repository: try context.parameters.require("repository"),
                                                id: try context.parameters.require("run")))
        }
        api.get("repositories/:repository/actions/runs/:run/hooks") { request, context in
            let q = PageQuery(request)
            let page = try catalog.hookRuns(repository: try context.parameters.require("repository"),
                                            runID: try context.parameters.require("run"), after: q.after, amount: q.amount)
            return ListResponse(page.items.map(HookRunJSON.init), hasMore: page.hasMore) { $0.hook_run_id }
        }
        api.get("repositories/:repository/actions/runs/:run/hooks/:hook/output") { _, context in
            let hook = try catalog.hookRun(repository: try context.parameters.require("repository"),
                                           runID: try context.parameters.require("run"), hookRunID: try context.parameters.require("hook"))
            return Response(status: .ok, headers: [.contentType: "application/octet-stream"],
                            body: .init(byteBuffer: ByteBuffer(string: hook.output)))
        }
    }
}

/// lakeFS's `ActionRun`.
struct ActionRunJSON: Codable, Sendable, ResponseEncodable {
    var run_id: String
    var branch: String
    var start_time: String
    var end_time: String
    var event_type: String
    var status: String
    var commit_id: String

    init(_ r: ActionRun) {
        run_id = r.id
        branch = r.branch
        start_time = RFC3339.string(r.startedAt)
        end_time = RFC3339.string(r.endedAt)
        event_type = r.eventType
        status = r.passed ? "completed" : "failed"
        commit_id = r.commitID
    }
}

/// lakeFS's `HookRun`.
struct HookRunJSON: Codable, Sendable, ResponseEncodable {
    var hook_run_id: String
    var action: String
    var hook_id: String
    var start_time: String
    var end_time: String
    var status: String

    init(_ h: HookRun) {
        hook_run_id = h.id
        action = h.action
        hook_id = h.hookID
        start_time = RFC3339.string(h.startedAt)
        end_time = RFC3339.string(h.endedAt)
        status = h.passed ? "completed" : "failed"
    }
}

/// RFC 3339 times with milliseconds: a hook's duration is often below a second.
enum RFC3339 {
    static func string(_ date: Date) -> String {
        let ms = Int64((date.timeIntervalSince1970 * 1000).rounded())
        let seconds = HTTPDate.iso8601(ms / 1000)
        return seconds.dropLast(5) + String(format: ".%03dZ", Int(ms % 1000))
    }

    /// `2026-12-01T10:00:00Z`, with or without fractional seconds.
    static func parse(_ s: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: s) { return d }
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: s)
    }
}
