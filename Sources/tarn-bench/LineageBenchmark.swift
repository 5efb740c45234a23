import Foundation
import TarnCore
import TarnMetadata

/// `tarn-bench lineage`: issue 9's figures. Builds a 1M-object repository (100k with --quick)
/// with 200 commits, each rewriting its own 1/1,000 of the objects, straight through the
/// engine; then starts `tarn serve` on that data directory and, over the REST API:
/// starts 10,000 runs (1,000 with --quick) from 32 clients, each pinned to one of the
/// commits (`run_start_per_s`); asks the impact of one object version that about a tenth of
/// the runs read, among all 10,000 (`impact_10k_runs_ms`, median of 11, target ≤ 200 ms); and the
/// provenance of the end of a five-run chain (`provenance_depth5_ms`, median of 21).
struct LineageBenchmark {
    let quick: Bool
    var objects: Int { quick ? 100_000 : 1_000_000 }
    var runs: Int { quick ? 1_000 : 10_000 }
    let commits = 200
    let chain = 5

    func path(_ i: Int) -> String { "table/part=\(i / 1000)/file-\(String(i % 1000)).parquet" }

    func entry(_ i: Int, version: Int) -> Entry {
        Entry(path: path(i), physicalAddress: "data/v\(version)/\(i)", size: 1_000_000 + Int64(version),
              checksum: "c\(version)-\(i)", contentType: "application/octet-stream", metadata: [:], mtime: 1_700_000_000 + Int64(version))
    }

    func run() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tarn-bench-lineage-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        Report.note("tarn-bench lineage (\(quick ? "quick" : "full")): \(objects) objects, \(commits) commits, \(runs) runs")
        var report = Report()
        report.add("objects", Double(objects), "objects")
        report.add("runs", Double(runs), "runs")

        // The lake, built through the engine before the server opens it.
        var commitIDs: [String] = []
        let perCommit = objects / 1000
        do {
            let store = try SQLiteStore(path: dir.appendingPathComponent("tarn.sqlite").path)
            let engine = VersioningEngine(store: store)
            try engine.createRepository(name: "lake", storageNamespace: "local://lake")
            for chunk in stride(from: 0, to: objects, by: 1000) {
                try engine.stage(repository: "lake", branch: "main", changes: (chunk..<min(chunk + 1000, objects)).map { .put(entry($0, version: 0)) })
            }
            commitIDs.append(try engine.commit(repository: "lake", branch: "main", CommitOptions(message: "load")).id)
            for c in 1..<commits {
                let first = c * perCommit
                try engine.stage(repository: "lake", branch: "main", changes: (first..<first + perCommit).map { .put(entry($0, version: c)) })
                commitIDs.append(try engine.commit(repository: "lake", branch: "main", CommitOptions(message: "rewrite \(c)")).id)
            }
            // Repositories of a five-step pipeline, each with its step's output staged.
            for s in 1...chain {
                try engine.createRepository(name: "step\(s)", storageNamespace: "local://step\(s)")
                try engine.putObject(repository: "step\(s)", branch: "main", entry: Entry(
                    path: "out.bin", physicalAddress: "data/step\(s)", size: 1, checksum: "s\(s)", contentType: "application/octet-stream",
                    metadata: [:], mtime: 1_700_000_000))
            }
            try engine.sweepStaging(limit: .max)
        }
        Report.note("lake built: \(commitIDs.count) commits")

        let server = try ServerProcess(dataDirectory: dir, environment: [
            "TARN_ADMIN_ACCESS_KEY_ID": APIBenchmark.keyID, "TARN_ADMIN_SECRET_ACCESS_KEY": APIBenchmark.secret,
        ])
        defer { server.stop() }
        let auth = APIBenchmark(quick: quick).auth
        let json = auth + "Content-Type: application/json\r\n"

        // Run starts: each resolves its input twice and writes one run.
        let clients = 32
        let perClient = (runs + clients - 1) / clients
        let ids = commitIDs
        let starts = try runLoad(port: server.port, clients: clients, total: runs, request: { c, n in
            let commit = ids[(c * perClient + n) % ids.count]
            // Most runs read the whole table; every fourth one a single partition.
            let input = (c + n) % 4 == 0 ? "table/part=\((c * 7 + n) % 1000)/" : "table/"
            return ("POST", "/api/v1/lineage/runs", json, Array(#"{"name":"train-\#(c % 8)","inputs":["lakefs://lake/\#(commit)/\#(input)"]}"#.utf8))
        }, expect: 201)
        report.add("run_start_per_s", starts.perSecond, "runs/s")
        report.add("run_start_p50_ms", starts.p50ms, "ms")

        let http = try HTTPConnection(port: server.port)
        func get(_ path: String) throws -> (ms: Double, body: [UInt8]) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let r = try http.send(method: "GET", path: path, headers: auth)
            guard r.status == 200 else { throw HTTPConnection.Failure(description: "GET \(path): \(r.status) \(String(decoding: r.body, as: UTF8.self))") }
            return (Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6, r.body)
        }
        func post(_ path: String, _ body: String, extra: String = "", expect: Int) throws -> [UInt8] {
            let r = try http.send(method: "POST", path: path, headers: json + extra, body: Array(body.utf8))
            guard r.status == expect else { throw HTTPConnection.Failure(description: "POST \(path): \(r.status) \(String(decoding: r.body, as: UTF8.self))") }
            return r.body
        }

        // Impact of the version an object got at commit 180 (rewritten by no later commit):
        // the runs pinned to commits 180…199 that read its partition or the whole table.
        let target = 180 * perCommit + 3
        let uri = "lakefs://lake/\(commitIDs[180])/\(path(target))"
        let query = "/api/v1/lineage/impact?depth=1&uri=" + uri.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let first = try get(query)
        let hits = (try JSONSerialization.jsonObject(with: Data(first.body)) as? [String: Any])?["count"] as? Int ?? -1
        Report.note("impact of \(uri): \(hits) runs")
        guard hits > 0 else { throw HTTPConnection.Failure(description: "impact found no run") }
        report.add("impact_hits", Double(hits), "runs")
        report.add("impact_10k_runs_first_ms", first.ms, "ms")
        report.add("impact_10k_runs_ms", percentile(try (0..<11).map { _ in try get(query).ms }, 0.5), "ms")

        // A five-step chain: each step reads the previous one's output and commits its own.
        var previous = "lakefs://lake/\(commitIDs[0])/table/part=0/"
        for s in 1...chain {
            let body = try post("/api/v1/lineage/runs", #"{"name":"step\#(s)","inputs":["\#(previous)"]}"#, expect: 201)
            guard let id = (try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])?["id"] as? String else {
                throw HTTPConnection.Failure(description: "no run id")
            }
            _ = try post("/api/v1/repositories/step\(s)/branches/main/commits", #"{"message":"step \#(s)"}"#, extra: "X-Tarn-Run-Id: \(id)\r\n", expect: 201)
            _ = try post("/api/v1/lineage/runs/\(id)/finish", #"{"status":"completed"}"#, expect: 200)
            previous = "lakefs://step\(s)/main/out.bin"
        }
        let provenance = "/api/v1/lineage/provenance?depth=5&uri=" + previous.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let chainBody = try get(provenance).body
        guard String(decoding: chainBody, as: UTF8.self).contains("\"name\":\"step1\"") else {
            throw HTTPConnection.Failure(description: "provenance did not reach step 1")
        }
        report.add("provenance_depth5_ms", percentile(try (0..<21).map { _ in try get(provenance).ms }, 0.5), "ms")
        report.add("rss_mb", server.rssMB(), "MB")
        report.add("impact_vs_target", report.value("impact_10k_runs_ms") / 200, "ratio")
        print(report.json())
    }
}
