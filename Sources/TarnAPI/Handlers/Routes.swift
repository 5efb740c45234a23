import Hummingbird
import TarnAuth
import TarnCatalog

/// Registers every `/api/v1` endpoint. One file per resource under `Handlers/`. Everything
/// but the health check, setup state and login needs credentials; with `authenticator == nil` (tests of the
/// handlers only) nothing does.
public func addAPIRoutes<Context: UserRequestContext>(to router: Router<Context>, catalog: Catalog, authenticator: Authenticator?) {
    let open = router.group("api/v1").add(middleware: APIErrorMiddleware<Context>())
    HealthAndConfig.registerHealth(open)
    if let authenticator { Auth(authenticator: authenticator).registerOpen(open) }
    let api = open.group()
    if let authenticator {
        api.add(middleware: AuthMiddleware<Context>(authenticator: authenticator))
        Auth(authenticator: authenticator).register(api)
    }
    HealthAndConfig.register(api, catalog: catalog)
    Repositories(catalog: catalog).register(api)
    Branches(catalog: catalog).register(api)
    Commits(catalog: catalog).register(api)
    Refs(catalog: catalog).register(api)
    Tags(catalog: catalog).register(api)
    Objects(catalog: catalog).register(api)
    BranchProtection(catalog: catalog).register(api)
    Import(catalog: catalog).register(api)
    Actions(catalog: catalog).register(api)
    LineageRoutes(catalog: catalog).register(api)
}

/// `prefix`, `after` and `amount` as lakeFS reads them: amount defaults to 100, values above
/// 1,000 become 1,000 and values of zero or less become 100.
struct PageQuery {
    var prefix: String
    var after: String
    var amount: Int

    init(_ request: Request) {
        let q = request.uri.queryParameters
        prefix = q.get("prefix").map { String($0) } ?? ""
        after = q.get("after").map { String($0) } ?? ""
        let asked = q.get("amount").flatMap { Int($0) } ?? 100
        amount = asked <= 0 ? 100 : min(asked, Pagination.maxPerPage)
    }
}

extension ListResponse: ResponseEncodable {}
extension RepositoryJSON: ResponseEncodable {}
extension RefJSON: ResponseEncodable {}
extension CommitJSON: ResponseEncodable {}
extension ObjectStatsJSON: ResponseEncodable {}
extension MergeResultJSON: ResponseEncodable {}
extension MergeBaseJSON: ResponseEncodable {}
extension ObjectErrorList: ResponseEncodable {}

extension Request {
    /// A required query parameter, or 400.
    func requiredQuery(_ name: String) throws -> String {
        guard let v = uri.queryParameters.get(name), !v.isEmpty else {
            throw APIError(.badRequest, "missing query parameter: \(name)")
        }
        return v
    }

    func flag(_ name: String) -> Bool { uri.queryParameters.get(name).map { $0 == "true" } ?? false }
}
