import Hummingbird
import TarnCatalog
import TarnCore

/// `/repositories`: list, create, get, delete.
struct Repositories {
    let catalog: Catalog

    func register<Context: RequestContext>(_ api: RouterGroup<Context>) {
        api.get("repositories") { request, _ in
            let q = PageQuery(request)
            let page = try catalog.engine.listRepositories(prefix: q.prefix, after: q.after, amount: q.amount)
            return ListResponse(page.items.map(RepositoryJSON.init), hasMore: page.hasMore) { $0.id }
        }
        api.post("repositories") { request, context in
            let body = try await request.decode(as: RepositoryCreation.self, context: context)
            let repo = try await catalog.createRepository(name: body.name, storageNamespace: body.storage_namespace,
                                                    defaultBranch: body.default_branch ?? "main")
            return EditedResponse(status: .created, response: RepositoryJSON(repo))
        }
        api.get("repositories/:repository") { _, context in
            RepositoryJSON(try catalog.engine.repository(try context.parameters.require("repository")))
        }
        // Repository metadata (lakefs-spec checks a repository exists through it); none is kept yet.
        api.get("repositories/:repository/metadata") { _, context in
            _ = try catalog.engine.repository(try context.parameters.require("repository"))
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "{}")))
        }
        api.delete("repositories/:repository") { _, context in
            let repository = try context.parameters.require("repository")
            try await catalog.background { try $0.deleteRepository(repository) }
            return HTTPResponse.Status.noContent
        }
    }
}
