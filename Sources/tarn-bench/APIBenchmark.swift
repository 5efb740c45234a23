import Foundation

/// `tarn-bench api`: starts `tarn serve` (the binary built beside this one) on a free
/// loopback port with a fresh data directory, drives the REST API from 32 concurrent
/// keep-alive clients, and stops the server by PID. Issue 4's figures and targets: branch
/// create >= 2,000/s, 4 KiB upload >= 2,000/s, stat >= 10,000/s, idle RSS <= 60 MB.
struct APIBenchmark {
    let quick: Bool
    let clients = 32
    var branches: Int { quick ? 2_000 : 20_000 }
    var uploads: Int { quick ? 2_000 : 20_000 }
    var stats: Int { quick ? 10_000 : 100_000 }

    static let keyID = "AKIABENCHBENCHBENCH1"
    static let secret = "bench-secret-bench-secret-bench-secret-0"
    let auth = "Authorization: Basic \(Data("\(APIBenchmark.keyID):\(APIBenchmark.secret)".utf8).base64EncodedString())\r\n"

    func run() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tarn-bench-api-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try ServerProcess(dataDirectory: dir, environment: [
            "TARN_ADMIN_ACCESS_KEY_ID": Self.keyID, "TARN_ADMIN_SECRET_ACCESS_KEY": Self.secret,
        ])
        defer { server.stop() }
        Report.note("tarn-bench api (\(quick ? "quick" : "full")): tarn pid \(server.pid) on 127.0.0.1:\(server.port), \(clients) clients")
        var report = Report()
        report.add("idle_rss_mb", server.rssMB(), "MB")

        let setup = try HTTPConnection(port: server.port)
        let created = try setup.send(method: "POST", path: "/api/v1/repositories", headers: auth + "Content-Type: application/json\r\n",
                                     body: Array(#"{"name":"bench","storage_namespace":"local://bench"}"#.utf8))
        guard created.status == 201 else { throw HTTPConnection.Failure(description: "create repository: \(created.status)") }

        let auth = self.auth
        let json = auth + "Content-Type: application/json\r\n"
        let branch = try runLoad(port: server.port, clients: clients, total: branches, request: { c, n in
            ("POST", "/api/v1/repositories/bench/branches", json, Array(#"{"name":"b-\#(c)-\#(n)","source":"main"}"#.utf8))
        }, expect: 201)
        report.add("branch_create_per_s", branch.perSecond, "ops/s")
        report.add("branch_create_p50_ms", branch.p50ms, "ms")
        report.add("branch_create_p99_ms", branch.p99ms, "ms")

        let payload = [UInt8]((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let raw = auth + "Content-Type: application/octet-stream\r\n"
        let upload = try runLoad(port: server.port, clients: clients, total: uploads, request: { c, n in
            ("POST", "/api/v1/repositories/bench/branches/main/objects?path=data/\(c)/\(n).bin", raw, payload)
        }, expect: 201)
        report.add("upload_4k_per_s", upload.perSecond, "ops/s")
        report.add("upload_4k_p50_ms", upload.p50ms, "ms")
        report.add("upload_4k_p99_ms", upload.p99ms, "ms")

        // Stat committed objects: what readers of a published branch do.
        let commit = try setup.send(method: "POST", path: "/api/v1/repositories/bench/branches/main/commits", headers: json,
                                    body: Array(#"{"message":"uploads"}"#.utf8))
        guard commit.status == 201 else { throw HTTPConnection.Failure(description: "commit: \(commit.status)") }
        let perClient = (uploads + clients - 1) / clients
        let stat = try runLoad(port: server.port, clients: clients, total: stats, request: { c, n in
            ("GET", "/api/v1/repositories/bench/refs/main/objects/stat?path=data/\(c)/\((n &* 7919) % perClient).bin", auth, [])
        }, expect: 200)
        report.add("stat_per_s", stat.perSecond, "ops/s")
        report.add("stat_p50_ms", stat.p50ms, "ms")
        report.add("stat_p99_ms", stat.p99ms, "ms")
        report.add("rss_after_load_mb", server.rssMB(), "MB")

        report.add("branch_create_vs_target", branch.perSecond / 2_000, "ratio")
        report.add("upload_4k_vs_target", upload.perSecond / 2_000, "ratio")
        report.add("stat_vs_target", stat.perSecond / 10_000, "ratio")
        print(report.json())
    }
}

/// A `tarn serve` child process on a free loopback port, stopped by PID.
final class ServerProcess {
    let process = Process()
    let port: Int
    var pid: Int32 { process.processIdentifier }

    init(dataDirectory: URL, environment: [String: String]) throws {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("tarn")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw HTTPConnection.Failure(description: "no tarn binary beside tarn-bench at \(binary.path): build both")
        }
        process.executableURL = binary
        process.arguments = ["serve", "--quickstart", "--listen", "127.0.0.1:0", "--data-dir", dataDirectory.path]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Wait for the line the server prints once it accepts connections.
        var seen = ""
        var found: Int?
        while found == nil {
            let data = out.fileHandleForReading.availableData
            if data.isEmpty { throw HTTPConnection.Failure(description: "tarn exited before listening: \(seen)") }
            seen += String(decoding: data, as: UTF8.self)
            if let line = seen.split(separator: "\n").first(where: { $0.hasPrefix("Tarn is listening on ") }),
               let p = line.split(separator: ":").last.flatMap({ Int($0) }) {
                found = p
            }
        }
        port = found!
        // Keep draining stdout so the server never blocks on a full pipe.
        out.fileHandleForReading.readabilityHandler = { _ = $0.availableData }
    }

    /// Resident set size now, in MB.
    func rssMB() -> Double { procStatusMB(pid: "\(pid)", "VmRSS:") }

    /// Peak resident set size since start or the last `resetPeakRSS()`, in MB.
    func peakRSSMB() -> Double { procStatusMB(pid: "\(pid)", "VmHWM:") }

    func resetPeakRSS() { resetPeakRSSOf(pid: "\(pid)") }

    func stop() {
        guard process.isRunning else { return }
        kill(pid, SIGTERM)
        process.waitUntilExit()
    }
}
