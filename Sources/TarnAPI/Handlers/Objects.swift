import Foundation
import Hummingbird
import TarnBlock
import TarnCatalog
import TarnCore

/// Objects: upload (raw body), get and HEAD (with Range), stat, ls, delete, bulk delete.
struct Objects {
    let catalog: Catalog

    func stats(_ repository: String, _ entry: Entry) throws -> ObjectStatsJSON {
        let repo = try catalog.engine.repository(repository)
        return ObjectStatsJSON(entry: entry, physicalAddress: catalog.physicalURI(repository: repo, entry: entry))
    }

    func register<Context: RequestContext>(_ api: RouterGroup<Context>) {
        api.post("repositories/:repository/branches/:branch/objects") { request, context in
            let repository = try context.parameters.require("repository")
            let branch = try context.parameters.require("branch")
            let path = try request.requiredQuery("path")
            // Preconditions are checked before the bytes flow (a client waiting on 100-continue
            // sends nothing in vain); a writer racing between check and stage can still win.
            if request.headers[.ifNoneMatch] == "*",
               (try? catalog.engine.getObject(repository: repository, ref: branch, path: path)) != nil {
                throw APIError(.preconditionFailed, "object exists: \(path)")
            }
            if let match = request.headers[.ifMatch] {
                let current = try? catalog.engine.getObject(repository: repository, ref: branch, path: path)
                guard let current, match == "*" || match == "\"\(current.checksum)\"" else {
                    throw APIError(.preconditionFailed, "If-Match \(match) does not match \(path)")
                }
            }
            let metadata = Self.userMetadata(request.headers)
            let uploaded: (entry: Entry, repository: Repository)
            if let type = request.headers[.contentType], type.lowercased().hasPrefix("multipart/form-data") {
                // The object is the part named `content`; its own Content-Type is the object's.
                guard let boundary = MultipartReader<RequestBody>.boundary(fromContentType: type) else {
                    throw APIError(.badRequest, "multipart/form-data without a boundary")
                }
                let reader = MultipartReader(request.body, boundary: boundary)
                let partType = try await reader.open(part: "content")
                uploaded = try await catalog.upload(repository: repository, branch: branch, path: path, body: reader.partBody,
                                                 contentType: partType, metadata: metadata)
            } else {
                uploaded = try await catalog.upload(
                    repository: repository, branch: branch, path: path, body: request.body.map { $0.readableBytesView },
                    contentType: request.headers[.contentType], metadata: metadata)
            }
            let stats = ObjectStatsJSON(entry: uploaded.entry,
                                        physicalAddress: catalog.physicalURI(repository: uploaded.repository, entry: uploaded.entry))
            return EditedResponse(status: .created, response: stats)
        }
        api.get("repositories/:repository/refs/:ref/objects") { request, context in
            try await read(request, context, head: false)
        }
        api.head("repositories/:repository/refs/:ref/objects") { request, context in
            try await read(request, context, head: true)
        }
        api.get("repositories/:repository/refs/:ref/objects/stat") { request, context in
            let repository = try context.parameters.require("repository")
            let entry = try catalog.engine.getObject(repository: repository, ref: try context.parameters.require("ref"),
                                                     path: try request.requiredQuery("path"))
            return try stats(repository, entry)
        }
        api.get("repositories/:repository/refs/:ref/objects/ls") { request, context in
            let repository = try context.parameters.require("repository")
            let repo = try catalog.engine.repository(repository)
            let q = PageQuery(request)
            let page = try catalog.engine.listObjects(
                repository: repository, ref: try context.parameters.require("ref"), prefix: q.prefix,
                delimiter: request.uri.queryParameters.get("delimiter").map { String($0) } ?? "", after: q.after, amount: q.amount)
            let rows = page.items.map { row in
                row.entry.map { ObjectStatsJSON(entry: $0, physicalAddress: catalog.physicalURI(repository: repo, entry: $0)) }
                    ?? ObjectStatsJSON(commonPrefix: row.path)
            }
            return ListResponse(rows, hasMore: page.hasMore) { $0.path }
        }
        api.delete("repositories/:repository/branches/:branch/objects") { request, context in
            try catalog.engine.deleteObject(repository: try context.parameters.require("repository"),
                                            branch: try context.parameters.require("branch"), path: try request.requiredQuery("path"))
            return HTTPResponse.Status.noContent
        }
        // Copies share the source's bytes: addresses are never rewritten, so two entries may
        // point at one.
        api.post("repositories/:repository/branches/:branch/objects/copy") { request, context in
            let repository = try context.parameters.require("repository")
            let branch = try context.parameters.require("branch")
            let destination = try request.requiredQuery("dest_path")
            let body = try await request.decode(as: ObjectCopyCreation.self, context: context)
            let entry = try await catalog.copyObject(from: (repository, body.src_ref ?? branch, body.src_path),
                                                     to: (repository, branch, destination))
            return EditedResponse(status: .created, response: try stats(repository, entry))
        }
        api.post("repositories/:repository/branches/:branch/objects/delete") { request, context in
            let body = try await request.decode(as: PathList.self, context: context)
            guard body.paths.count <= 1000 else { throw APIError(.badRequest, "at most 1000 paths per request") }
            let repository = try context.parameters.require("repository")
            let branch = try context.parameters.require("branch")
            var errors: [ObjectErrorJSON] = []
            var changes: [Change] = []
            for path in body.paths {
                do {
                    _ = try catalog.engine.getObject(repository: repository, ref: branch, path: path)
                    changes.append(.delete(path))
                } catch EngineError.objectNotFound {
                    continue // deleting what is not there succeeds, as in lakeFS
                } catch {
                    let e = APIError.from(error)
                    errors.append(ObjectErrorJSON(status_code: Int(e.status.code), message: e.message, path: path))
                }
            }
            try catalog.engine.stage(repository: repository, branch: branch, changes: changes)
            return ObjectErrorList(errors: errors)
        }
    }

    /// GET and HEAD of an object's bytes, with a single `Range` (206 / 416) and `If-None-Match`.
    func read<Context: RequestContext>(_ request: Request, _ context: Context, head: Bool) async throws -> Response {
        let repository = try context.parameters.require("repository")
        let ref = try context.parameters.require("ref")
        let path = try request.requiredQuery("path")
        // With the repository: on a branch, one read of the metadata gives both.
        let (repo, entry) = try catalog.engine.locateObject(repository: repository, ref: ref, path: path)
        let etag = "\"\(entry.checksum)\""
        var headers: HTTPFields = [
            .contentType: entry.contentType, .eTag: etag, .acceptRanges: "bytes",
            .lastModified: Self.httpDate(entry.mtime),
        ]
        if let match = request.headers[.ifNoneMatch], match == etag || match == "*" {
            return Response(status: .notModified, headers: headers)
        }
        var range: ClosedRange<Int64>?
        if let header = request.headers[.range] {
            guard let parsed = Self.parseRange(header, size: entry.size) else {
                // An error like every other (JSON, none for HEAD), plus the size clients read
                // from Content-Range to tell end of file.
                var response = try APIError(.rangeNotSatisfiable, "Requested Range Not Satisfiable").response(from: request, context: context)
                response.headers[.contentRange] = "bytes */\(entry.size)"
                return response
            }
            range = parsed
        }
        // The length is known from the entry: a HEAD never opens the bytes (on an S3 backend
        // that would start a transfer).
        let length = range.map { $0.upperBound - $0.lowerBound + 1 } ?? entry.size
        headers[.contentLength] = String(length)
        var status = HTTPResponse.Status.ok
        if let range {
            status = .partialContent
            headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound)/\(entry.size)"
        }
        if head { return Response(status: status, headers: headers) }
        let reader = try await catalog.open(entry, in: repo, range: range)
        if let whole = try await reader.readWhole() { return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: whole)) }
        let loop = (context as? APIRequestContext)?.channel.eventLoop
        return Response(status: status, headers: headers, body: ResponseBody(contentLength: Int(reader.length)) { writer in
            try await reader.writeRuns(from: loop) { try await writer.write(contentsOf: $0) }
            try await writer.finish(nil)
        })
    }

    /// `bytes=a-b`, `bytes=a-`, `bytes=-n`; nil when it cannot be satisfied.
    static func parseRange(_ header: String, size: Int64) -> ClosedRange<Int64>? {
        guard header.hasPrefix("bytes="), !header.contains(",") else { return nil }
        let spec = header.dropFirst(6)
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        if parts[0].isEmpty {
            guard let n = Int64(parts[1]), n > 0, size > 0 else { return nil }
            return max(0, size - n)...(size - 1)
        }
        guard let start = Int64(parts[0]), start < size else { return nil }
        let end = parts[1].isEmpty ? size - 1 : (Int64(parts[1]) ?? -1)
        guard end >= start else { return nil }
        return start...min(end, size - 1)
    }

    /// `X-Lakefs-Meta-<k>` headers → metadata `<k>` (lower-cased); `X-Lakefs-Internal-<k>` →
    /// `::lakefs::<k>`.
    static func userMetadata(_ headers: HTTPFields) -> [String: String] {
        var out: [String: String] = [:]
        for field in headers {
            let name = field.name.canonicalName
            if name.hasPrefix("x-lakefs-meta-") { out[String(name.dropFirst("x-lakefs-meta-".count))] = field.value }
            // lakectl's own bookkeeping (client mtime...), kept apart from user metadata.
            if name.hasPrefix("x-lakefs-internal-") { out["::lakefs::" + name.dropFirst("x-lakefs-internal-".count)] = field.value }
        }
        return out
    }

    static func httpDate(_ seconds: Int64) -> String { HTTPDate.rfc1123(seconds) }
}
