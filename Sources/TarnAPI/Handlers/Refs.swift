import Foundation
import Hummingbird
import TarnCatalog
import TarnCore

/// Diff between refs, merge, merge base, and the branch operations that rewrite history
/// (uncommitted diff, reset, hard reset, revert, cherry-pick).
struct Refs {
    let catalog: Catalog

    func register<Context: UserRequestContext>(_ api: RouterGroup<Context>) {
        api.get("repositories/:repository/refs/:ref/diff/:right") { request, context in
            let q = PageQuery(request)
            let mode: DiffMode = request.uri.queryParameters.get("type") == "two_dot" ? .twoDot : .threeDot
            let repository = try context.parameters.require("repository"), left = try context.parameters.require("ref")
            let right = try context.parameters.require("right")
            let delimiter = request.uri.queryParameters.get("delimiter").map { String($0) } ?? ""
            let page = try await catalog.background {
                try $0.diff(repository: repository, left: left, right: right, mode: mode, prefix: q.prefix,
                            delimiter: delimiter, after: q.after, amount: q.amount)
            }
            return ListResponse(page.items.map(DiffJSON.init), hasMore: page.hasMore) { $0.path }
        }
        api.get("repositories/:repository/branches/:branch/diff") { request, context in
            let q = PageQuery(request)
            let repository = try context.parameters.require("repository"), branch = try context.parameters.require("branch")
            let delimiter = request.uri.queryParameters.get("delimiter").map { String($0) } ?? ""
            let page = try await catalog.background {
                try $0.diffUncommitted(repository: repository, branch: branch, prefix: q.prefix, delimiter: delimiter,
                                       after: q.after, amount: q.amount)
            }
            return ListResponse(page.items.map(DiffJSON.init), hasMore: page.hasMore) { $0.path }
        }
        api.post("repositories/:repository/refs/:ref/merge/:destination") { request, context in
            var body = MergeCreation()
            if let bytes = try? await request.body.collect(upTo: 1 << 20), bytes.readableBytes > 0 {
                body = try JSONDecoder().decode(MergeCreation.self, from: bytes)
            }
            let strategy: MergeStrategy
            switch body.strategy ?? "" {
            case "": strategy = .none
            case "dest-wins": strategy = .destWins
            case "source-wins": strategy = .sourceWins
            default: throw APIError(.badRequest, "invalid strategy: \(body.strategy!)")
            }
            let options = MergeOptions(message: body.message.flatMap { $0.isEmpty ? nil : $0 }, committer: context.committer,
                                       metadata: body.metadata ?? [:],
                                       strategy: strategy, squash: body.squash_merge ?? false, allowEmpty: body.allow_empty ?? false)
            let repository = try context.parameters.require("repository"), source = try context.parameters.require("ref")
            let destination = try context.parameters.require("destination")
            do {
                let commit = try await catalog.merge(repository: repository, source: source, into: destination, options)
                return MergeResultJSON(reference: commit.id)
            } catch EngineError.conflict(let paths) {
                // A MergeResult body (empty reference) as well as the message every error has.
                throw APIError(.conflict, "conflict found: \(paths.prefix(20).joined(separator: ", "))", extra: ["reference": ""])
            }
        }
        api.get("repositories/:repository/refs/:ref/merge/:destination") { _, context in
            let repo = try context.parameters.require("repository")
            let source = try catalog.engine.resolveCommit(repository: repo, ref: try context.parameters.require("ref"))
            let dest = try catalog.engine.resolveCommit(repository: repo, ref: try context.parameters.require("destination"))
            guard let base = try catalog.engine.mergeBase(repository: repo, source, dest) else {
                throw APIError(.notFound, "no merge base")
            }
            return MergeBaseJSON(source_commit_id: source.id, destination_commit_id: dest.id, base_commit_id: base.id)
        }
        api.put("repositories/:repository/branches/:branch") { request, context in
            let body = try await request.decode(as: ResetCreation.self, context: context)
            let scope: ResetScope
            switch body.type {
            case "reset": scope = .all
            case "object": scope = .object(body.path ?? "")
            case "common_prefix": scope = .prefix(body.path ?? "")
            default: throw APIError(.badRequest, "invalid reset type: \(body.type)")
            }
            let repository = try context.parameters.require("repository"), branch = try context.parameters.require("branch")
            try await catalog.background { try $0.resetBranch(repository: repository, branch: branch, scope: scope) }
            return HTTPResponse.Status.noContent
        }
        api.put("repositories/:repository/branches/:branch/hard_reset") { request, context in
            let repository = try context.parameters.require("repository"), branch = try context.parameters.require("branch")
            let ref = try request.requiredQuery("ref")
            _ = try await catalog.background { try $0.hardReset(repository: repository, branch: branch, to: ref) }
            return HTTPResponse.Status.noContent
        }
        api.post("repositories/:repository/branches/:branch/revert") { request, context in
            let body = try await request.decode(as: RevertCreation.self, context: context)
            let repository = try context.parameters.require("repository"), branch = try context.parameters.require("branch")
            let committer = context.committer
            _ = try await catalog.revert(repository: repository, branch: branch, ref: body.ref, parentNumber: body.parent_number ?? 0,
                                         committer: committer, message: nil, allowEmpty: body.allow_empty ?? false)
            return HTTPResponse.Status.noContent
        }
        api.post("repositories/:repository/branches/:branch/cherry-pick") { request, context in
            let body = try await request.decode(as: CherryPickCreation.self, context: context)
            let repository = try context.parameters.require("repository"), branch = try context.parameters.require("branch")
            let committer = context.committer
            let commit = try await catalog.cherryPick(repository: repository, branch: branch, ref: body.ref,
                                                      parentNumber: body.parent_number ?? 0, committer: committer)
            return EditedResponse(status: .created, response: CommitJSON(commit))
        }
    }
}
