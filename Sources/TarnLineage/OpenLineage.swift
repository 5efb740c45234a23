import Foundation
import TarnCore

/// Runs as OpenLineage `RunEvent`s (spec 2-0-2): the job is the run's name in namespace
/// `tarn`, each Tarn dataset is namespace `lakefs://<repo>`, name `<path>`, version the commit
/// ID (a `datasetVersion` facet), so Marquez and similar tools draw the same graph.
public enum OpenLineage {
    public enum EventType: String, Sendable { case start = "START", complete = "COMPLETE", fail = "FAIL" }

    static let producer = "https://github.com/tarn-lake/tarn"
    static let schemaURL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
    static let versionFacetURL = "https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet"

    /// One event as a JSON object (keys sorted, so equal events are equal bytes).
    public static func event(_ run: LineageRun, _ type: EventType) -> [UInt8] {
        let time = type == .start ? run.startedAt : (run.endedAt ?? run.startedAt)
        var runFacets: [String: Any] = [:]
        if !run.params.isEmpty || !run.externalIDs.isEmpty {
            runFacets["tarn"] = ["_producer": producer, "_schemaURL": producer + "/blob/main/Schemas/lineage.schema.json",
                                 "params": run.params, "external_ids": run.externalIDs, "metrics": run.metrics]
        }
        let event: [String: Any] = [
            "eventType": type.rawValue,
            "eventTime": iso(time),
            "producer": producer,
            "schemaURL": schemaURL,
            "run": ["runId": run.id, "facets": runFacets],
            "job": ["namespace": "tarn", "name": run.name],
            "inputs": run.inputs.map { dataset(repository: $0.repository, path: $0.path, version: $0.commitID) },
            "outputs": type == .start ? [] : run.outputs.map { o -> [String: Any] in
                if let repo = o.repository, let commit = o.commitID { return dataset(repository: repo, path: o.path, version: commit) }
                return ["namespace": externalNamespace(o.uri), "name": o.uri]
            },
        ]
        return Array((try? JSONSerialization.data(withJSONObject: event, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data())
    }

    /// The events of runs started or ended at or after `since`, in time order, one per line.
    public static func events(_ runs: [LineageRun], since: Date) -> [[UInt8]] {
        var timed: [(Date, String, [UInt8])] = []
        for run in runs {
            if run.startedAt >= since { timed.append((run.startedAt, run.id + "0", event(run, .start))) }
            if let end = run.endedAt, end >= since, run.status != .running {
                timed.append((end, run.id + "1", event(run, run.status == .completed ? .complete : .fail)))
            }
        }
        return timed.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.map(\.2)
    }

    static func dataset(repository: String, path: String, version: String) -> [String: Any] {
        ["namespace": "lakefs://\(repository)", "name": path.isEmpty ? "/" : path,
         "facets": ["version": ["_producer": producer, "_schemaURL": versionFacetURL, "datasetVersion": version]]]
    }

    /// `s3://bucket/key` → `s3://bucket`; anything else → its scheme and authority.
    static func externalNamespace(_ uri: String) -> String {
        guard let scheme = uri.range(of: "://") else { return "external" }
        let rest = uri[scheme.upperBound...]
        return String(uri[..<scheme.upperBound]) + String(rest.prefix { $0 != "/" })
    }

    static func iso(_ d: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: d)
    }
}
