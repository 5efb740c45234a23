import Hummingbird
import TarnCatalog
import TarnCore

/// Zero-copy import, as lakeFS serves it: `POST /repositories/{repository}/branches/{branch}/import`
/// starts one (202 `{"id"}`), `GET …/import?id=` reports it, `DELETE …/import?id=` cancels it (204).
struct Import {
    let catalog: Catalog

    func register<Context: UserRequestContext>(_ api: RouterGroup<Context>) {
        api.post("repositories/:repository/branches/:branch/import") { request, context in
            let body = try await request.decode(as: ImportCreation.self, context: context)
            let locations = try body.paths.map { p -> ImportLocation in
                guard let kind = ImportLocation.Kind(rawValue: p.type) else {
                    throw APIError(.badRequest, "import path type must be common_prefix or object, not \(p.type)")
                }
                return ImportLocation(kind: kind, source: p.path, destination: p.destination)
            }
            let options = CommitOptions(message: body.commit.message, committer: context.committer,
                                        metadata: body.commit.metadata ?? [:], date: body.commit.date)
            let id = try catalog.startImport(repository: try context.parameters.require("repository"),
                                             branch: try context.parameters.require("branch"), locations: locations, options)
            return EditedResponse(status: .accepted, response: ImportCreationResponse(id: id))
        }
        api.get("repositories/:repository/branches/:branch/import") { request, context in
            ImportStatusJSON(try catalog.importStatus(id: try request.requiredQuery("id"),
                                                      repository: try context.parameters.require("repository"),
                                                      branch: try context.parameters.require("branch")))
        }
        api.delete("repositories/:repository/branches/:branch/import") { request, context in
            try catalog.cancelImport(id: try request.requiredQuery("id"), repository: try context.parameters.require("repository"),
                                     branch: try context.parameters.require("branch"))
            return HTTPResponse.Status.noContent
        }
    }
}

extension ImportCreationResponse: ResponseEncodable {}
extension ImportStatusJSON: ResponseEncodable {}
