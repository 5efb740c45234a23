import Hummingbird
import TarnCatalog
import TarnCore
import TarnLineage

/// `/repositories/{repository}/branches`: list, create, get, delete.
struct Branches {
    let catalog: Catalog

    func register<Context: UserRequestContext>(_ api: RouterGroup<Context>) {
        api.get("repositories/:repository/branches") { request, context in
            let q = PageQuery(request)
            let page = try catalog.engine.listBranches(repository: try context.parameters.require("repository"),
                                                       prefix: q.prefix, after: q.after, amount: q.amount)
            return ListResponse(page.items.map { RefJSON(id: $0.name, commit_id: $0.headCommitID) }, hasMore: page.hasMore) { $0.id }
        }
        // lakeFS answers 201 with the source commit ID as a plain string, not JSON.
        api.post("repositories/:repository/branches") { request, context in
            let body = try await request.decode(as: BranchCreation.self, context: context)
            let branch = try await catalog.createBranch(repository: try context.parameters.require("repository"),
                                                        name: body.name, from: body.source)
            return Response(status: .created, headers: [.contentType: "text/html"],
                            body: .init(byteBuffer: ByteBuffer(string: branch.headCommitID)))
        }
        api.get("repositories/:repository/branches/:branch") { _, context in
            let b = try catalog.engine.branch(repository: try context.parameters.require("repository"),
                                              name: try context.parameters.require("branch"))
            return RefJSON(id: b.name, commit_id: b.headCommitID)
        }
        api.delete("repositories/:repository/branches/:branch") { _, context in
            try await catalog.deleteBranch(repository: try context.parameters.require("repository"),
                                           name: try context.parameters.require("branch"))
            return HTTPResponse.Status.noContent
        }
        api.post("repositories/:repository/branches/:branch/commits") { request, context in
            let body = try await request.decode(as: CommitCreation.self, context: context)
            let repository = try context.parameters.require("repository"), branch = try context.parameters.require("branch")
            var metadata = body.metadata ?? [:]
            // `X-Tarn-Run-Id` (or the metadata key itself, which lakeFS clients can set) makes
            // the commit an output of that lineage run.
            if let run = request.headers[.tarnRunID], !run.isEmpty { metadata[Lineage.runIDKey] = run }
            let options = CommitOptions(message: body.message, committer: context.committer, metadata: metadata,
                                        date: body.date, allowEmpty: body.allow_empty ?? false)
            let commit = try await catalog.commit(repository: repository, branch: branch, options)
            return EditedResponse(status: .created, response: CommitJSON(commit))
        }
    }
}
