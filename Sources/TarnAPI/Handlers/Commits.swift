import Hummingbird
import TarnCatalog
import TarnCore

/// Log and single commits: `GET /repositories/{repository}/refs/{ref}/commits`,
/// `GET /repositories/{repository}/commits/{commitId}` (any ref expression, as lakeFS accepts).
struct Commits {
    let catalog: Catalog

    func register<Context: RequestContext>(_ api: RouterGroup<Context>) {
        api.get("repositories/:repository/refs/:ref/commits") { request, context in
            let q = PageQuery(request)
            let params = request.uri.queryParameters
            let repository = try context.parameters.require("repository"), ref = try context.parameters.require("ref")
            let firstParent = request.flag("first_parent"), stopAt = params.get("stop_at").map { String($0) }
            let objects = params.getAll("objects").map { String($0) }, prefixes = params.getAll("prefixes").map { String($0) }
            // A log filtered by objects may walk the whole history: off the cooperative threads.
            let page = try await catalog.background {
                try $0.log(repository: repository, ref: ref, after: q.after, amount: q.amount, firstParent: firstParent,
                           objects: objects, prefixes: prefixes, stopAt: stopAt)
            }
            return ListResponse(page.items.map(CommitJSON.init), hasMore: page.hasMore) { $0.id }
        }
        api.get("repositories/:repository/commits/:commit") { _, context in
            CommitJSON(try catalog.engine.resolveCommit(repository: try context.parameters.require("repository"),
                                                        ref: try context.parameters.require("commit")))
        }
    }
}
