import Foundation
import Hummingbird
import TarnCatalog
import TarnCore

/// `GET|PUT /repositories/{repository}/settings/branch_protection`: the whole list of rules,
/// read with an `ETag` and replaced with `If-Match` so two editors cannot overwrite each
/// other (412 when the list changed in between).
struct BranchProtection {
    let catalog: Catalog

    struct Rule: Codable, Sendable { var pattern: String }

    static func etag(_ version: Int64) -> String { "\"v\(version)\"" }

    func register<Context: RequestContext>(_ api: RouterGroup<Context>) {
        api.get("repositories/:repository/settings/branch_protection") { _, context in
            let rules = try catalog.engine.branchProtection(repository: try context.parameters.require("repository"))
            let body = try JSONEncoder().encode(rules.patterns.map(Rule.init))
            return Response(status: .ok, headers: [.contentType: "application/json", .eTag: Self.etag(rules.version)],
                            body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
        api.put("repositories/:repository/settings/branch_protection") { request, context in
            let repository = try context.parameters.require("repository")
            let rules = try await request.decode(as: [Rule].self, context: context)
            var version: Int64?
            if let match = request.headers[.ifMatch] {
                let digits = match.trimmingCharacters(in: CharacterSet(charactersIn: "\"")).dropFirst()
                guard match.hasPrefix("\"v"), let v = Int64(digits) else {
                    throw APIError(.preconditionFailed, "If-Match does not name a version of the rules: \(match)")
                }
                version = v
            }
            try catalog.engine.setBranchProtection(repository: repository, patterns: rules.map(\.pattern), ifVersion: version)
            return HTTPResponse.Status.noContent
        }
    }
}
