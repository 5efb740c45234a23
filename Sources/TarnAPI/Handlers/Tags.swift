import Hummingbird
import TarnCatalog
import TarnCore

/// `/repositories/{repository}/tags`: list, create, get, delete.
struct Tags {
    let catalog: Catalog

    func register<Context: RequestContext>(_ api: RouterGroup<Context>) {
        api.get("repositories/:repository/tags") { request, context in
            let q = PageQuery(request)
            let page = try catalog.engine.listTags(repository: try context.parameters.require("repository"),
                                                   prefix: q.prefix, after: q.after, amount: q.amount)
            return ListResponse(page.items.map { RefJSON(id: $0.name, commit_id: $0.commitID) }, hasMore: page.hasMore) { $0.id }
        }
        api.post("repositories/:repository/tags") { request, context in
            let body = try await request.decode(as: TagCreation.self, context: context)
            let tag = try await catalog.createTag(repository: try context.parameters.require("repository"), name: body.id, ref: body.ref)
            return EditedResponse(status: .created, response: RefJSON(id: tag.name, commit_id: tag.commitID))
        }
        api.get("repositories/:repository/tags/:tag") { _, context in
            let tag = try catalog.engine.tag(repository: try context.parameters.require("repository"), name: try context.parameters.require("tag"))
            return RefJSON(id: tag.name, commit_id: tag.commitID)
        }
        api.delete("repositories/:repository/tags/:tag") { _, context in
            try await catalog.deleteTag(repository: try context.parameters.require("repository"), name: try context.parameters.require("tag"))
            return HTTPResponse.Status.noContent
        }
    }
}
