import Foundation
import HTTPTypes
import Hummingbird
import TarnCatalog
import TarnCore
import TarnLineage

/// `/lineage`: runs with pinned inputs (start, get, list, finish, delete), the commits they
/// pin, provenance and impact queries, and the OpenLineage export.
struct LineageRoutes {
    let catalog: Catalog
    var lineage: Lineage { catalog.lineage }

    func register<Context: UserRequestContext>(_ api: RouterGroup<Context>) {
        api.post("lineage/runs") { request, context in
            let body = try await request.decode(as: RunCreation.self, context: context)
            let run = try lineage.start(name: body.name, externalIDs: body.external_ids ?? [:], params: body.params ?? [:],
                                        inputs: body.inputs ?? [])
            return EditedResponse(status: .created, response: LineageRunJSON(run))
        }
        api.get("lineage/runs") { request, _ in
            let q = PageQuery(request)
            let query = request.uri.queryParameters
            func value(_ name: String) -> String? { query.get(name).flatMap { $0.isEmpty ? nil : String($0) } }
            var filter = LineageRunFilter(name: value("name"), repository: value("repository"), inputCommit: value("commit"))
            if let status = value("status") {
                guard let s = LineageRun.Status(rawValue: status) else { throw APIError(.badRequest, "status must be running, completed or failed") }
                filter.status = s
            }
            if let since = value("since") {
                guard let date = RFC3339.parse(since) else { throw APIError(.badRequest, "since must be an RFC 3339 time: \(since)") }
                filter.since = date
            }
            let page = try lineage.runs(filter, after: q.after, amount: q.amount)
            return ListResponse(page.items.map(LineageRunJSON.init), hasMore: page.hasMore) { $0.id }
        }
        api.get("lineage/runs/:run") { _, context in
            LineageRunJSON(try lineage.run(id: try context.parameters.require("run")))
        }
        api.post("lineage/runs/:run/finish") { request, context in
            let body = try await request.decode(as: RunFinish.self, context: context)
            guard let status = LineageRun.Status(rawValue: body.status) else {
                throw APIError(.badRequest, "status must be completed or failed, not \(body.status)")
            }
            return LineageRunJSON(try lineage.finish(id: try context.parameters.require("run"), status: status, metrics: body.metrics ?? [:],
                                                     outputs: body.outputs ?? []))
        }
        api.delete("lineage/runs/:run") { _, context in
            try lineage.delete(id: try context.parameters.require("run"))
            return HTTPResponse.Status.noContent
        }
        api.get("lineage/pins") { request, _ in
            let q = PageQuery(request)
            let repository = try request.requiredQuery("repository")
            let page = try lineage.pins(repository: repository, after: q.after, amount: q.amount)
            return ListResponse(page.items.map { PinJSON(repository: repository, commit_id: $0.commitID, runs: $0.runIDs) },
                                hasMore: page.hasMore) { $0.commit_id }
        }
        api.get("lineage/provenance") { request, _ in
            let uri = try request.requiredQuery("uri")
            let node = try await catalog.background { _ in try lineage.provenance(of: uri, depth: Self.depth(request)) }
            return ProvenanceJSON(node)
        }
        api.get("lineage/impact") { request, _ in
            let uri = try request.requiredQuery("uri")
            let depth = Self.depth(request)
            let (dataset, nodes) = try await catalog.background { _ in
                let dataset = try lineage.dataset(uri)
                return (dataset, try lineage.impact(of: dataset, depth: depth))
            }
            return ImpactJSON(dataset: DatasetJSON(dataset), runs: nodes.map(ImpactRunJSON.init), count: ImpactRunJSON.count(nodes))
        }
        api.get("lineage/openlineage") { request, _ in
            var since = Date(timeIntervalSince1970: 0)
            if let s = request.uri.queryParameters.get("since"), !s.isEmpty {
                guard let d = RFC3339.parse(String(s)) else { throw APIError(.badRequest, "since must be an RFC 3339 time: \(s)") }
                since = d
            }
            // Only the runs with an event since then are read: a feed polled with the time of
            // its last pull loads what is new, not every run ever recorded.
            var runs: [LineageRun] = []
            var after = ""
            while true {
                let page = try lineage.runs(LineageRunFilter(activeSince: since), after: after, amount: 1000)
                runs += page.items
                guard page.hasMore, let last = page.items.last else { break }
                after = last.id
            }
            var buffer = ByteBuffer()
            for line in OpenLineage.events(runs, since: since) {
                buffer.writeBytes(line)
                buffer.writeInteger(UInt8(ascii: "\n"))
            }
            return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: .init(byteBuffer: buffer))
        }
    }

    static func depth(_ request: Request) -> Int {
        request.uri.queryParameters.get("depth").flatMap { Int($0) } ?? 5
    }
}

extension HTTPField.Name {
    static let tarnRunID = Self("X-Tarn-Run-Id")!
}

struct RunCreation: Codable, Sendable {
    var name: String
    var external_ids: [String: String]?
    var params: [String: String]?
    var inputs: [String]?
}

struct RunFinish: Codable, Sendable {
    var status: String
    var metrics: [String: Double]?
    var outputs: [String]?
}

struct LineageRunJSON: Codable, Sendable, ResponseEncodable {
    struct Input: Codable, Sendable {
        var uri, repository, ref, commit_id, path, lakefs_uri, s3_uri: String
    }
    struct Output: Codable, Sendable {
        var uri: String
        var repository: String?
        var commit_id: String?
        var path: String
        var lakefs_uri: String?
        var s3_uri: String?
    }
    var id, name, status, started_at: String
    var ended_at: String?
    var external_ids, params: [String: String]
    var metrics: [String: Double]
    var inputs: [Input]
    var outputs: [Output]

    init(_ r: LineageRun) {
        id = r.id
        name = r.name
        status = r.status.rawValue
        started_at = RFC3339.string(r.startedAt)
        ended_at = r.endedAt.map(RFC3339.string)
        external_ids = r.externalIDs
        params = r.params
        metrics = r.metrics
        inputs = r.inputs.map {
            Input(uri: $0.uri, repository: $0.repository, ref: $0.ref, commit_id: $0.commitID, path: $0.path, lakefs_uri: $0.lakeFSURI, s3_uri: $0.s3URI)
        }
        outputs = r.outputs.map { o in
            let pinned = o.repository.flatMap { repo in o.commitID.map { (repo, $0) } }
            return Output(uri: o.uri, repository: o.repository, commit_id: o.commitID, path: o.path,
                          lakefs_uri: pinned.map { "lakefs://\($0.0)/\($0.1)/\(o.path)" }, s3_uri: pinned.map { "s3://\($0.0)/\($0.1)/\(o.path)" })
        }
    }
}

struct PinJSON: Codable, Sendable {
    var repository: String
    var commit_id: String
    var runs: [String]
}

struct DatasetJSON: Codable, Sendable {
    var uri, repository, commit_id, path: String
    init(_ d: DatasetVersion) {
        uri = d.uri
        repository = d.repository
        commit_id = d.commitID
        path = d.path
    }
}

struct ProvenanceJSON: Codable, Sendable, ResponseEncodable {
    struct Producer: Codable, Sendable {
        var run: LineageRunJSON
        var inputs: [ProvenanceJSON]
    }
    var dataset: DatasetJSON
    var produced_by: [Producer]

    init(_ n: ProvenanceNode) {
        dataset = DatasetJSON(n.dataset)
        produced_by = n.producedBy.map { Producer(run: LineageRunJSON($0.run), inputs: $0.inputs.map(ProvenanceJSON.init)) }
    }
}

struct ImpactRunJSON: Codable, Sendable {
    var run: LineageRunJSON
    var via: DatasetJSON
    var downstream: [ImpactRunJSON]

    init(_ n: ImpactNode) {
        run = LineageRunJSON(n.run)
        via = DatasetJSON(n.via)
        downstream = n.downstream.map(ImpactRunJSON.init)
    }

    static func count(_ nodes: [ImpactNode]) -> Int { nodes.reduce(0) { $0 + 1 + count($1.downstream) } }
}

struct ImpactJSON: Codable, Sendable, ResponseEncodable {
    var dataset: DatasetJSON
    var runs: [ImpactRunJSON]
    var count: Int
}

