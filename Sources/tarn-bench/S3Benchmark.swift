import Foundation
import TarnCore
import TarnMetadata

/// `tarn-bench s3`: the S3 gateway against nginx serving the same files from disk, both
/// started here on free loopback ports and stopped by PID. Requests are signed with Tarn's
/// SigV4 code; signatures for the small-object loads are made before the clock starts, so
/// the client's share of the two cores goes to sending and reading. Issue 5's figures:
/// GET 4 KiB >= 10,000/s and >= 50 % of nginx, PUT 4 KiB >= 4,000/s, HEAD >= 12,000/s,
/// ListObjectsV2 over 1M committed keys >= 150k keys/s, 2 GiB GET >= 80 % of nginx,
/// 2 GiB PUT >= 400 MB/s, RSS growth <= 64 MB while 5 GiB stream up and down.
/// `--quick` keeps the names and measures a tenth of every size.
struct S3Benchmark {
    let quick: Bool
    let clients = 32
    var smallObjects: Int { quick ? 2_000 : 20_000 }
    var gets: Int { quick ? 10_000 : 100_000 }
    var listedKeys: Int { quick ? 100_000 : 1_000_000 }
    var bigBytes: Int { (quick ? 205 : 2_048) << 20 }
    var streamBytes: Int { (quick ? 512 : 5_120) << 20 }

    func run() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tarn-bench-s3-\(UUID().uuidString)")
        let data = dir.appendingPathComponent("tarn"), www = dir.appendingPathComponent("www")
        for d in [data, www] { try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true) }
        defer { try? FileManager.default.removeItem(at: dir) }
        var report = Report()

        // 1M committed keys, written with the engine before the server opens the database:
        // staging them through the gateway would take minutes and measure something else.
        let seedSeconds = try timed { try seedListing(databasePath: data.appendingPathComponent("tarn.sqlite").path) }
        Report.note("seeded \(listedKeys) committed keys in \(String(format: "%.1f", seedSeconds)) s")

        let server = try ServerProcess(dataDirectory: data, environment: [
            "TARN_ADMIN_ACCESS_KEY_ID": APIBenchmark.keyID, "TARN_ADMIN_SECRET_ACCESS_KEY": APIBenchmark.secret,
        ])
        defer { server.stop() }
        let nginx = try NginxProcess(root: www, scratch: dir.appendingPathComponent("nginx"))
        defer { nginx.stop() }
        Report.note("tarn-bench s3 (\(quick ? "quick" : "full")): tarn pid \(server.pid) on 127.0.0.1:\(server.port), "
            + "nginx pid \(nginx.pid) on 127.0.0.1:\(nginx.port), \(clients) clients")
        let signer = S3Signer(accessKeyID: APIBenchmark.keyID, secret: APIBenchmark.secret)
        let rest = try HTTPConnection(port: server.port)
        let basic = APIBenchmark(quick: quick).auth + "Content-Type: application/json\r\n"
        let created = try rest.send(method: "POST", path: "/api/v1/repositories", headers: basic,
                                    body: Array(#"{"name":"bench","storage_namespace":"local://bench"}"#.utf8))
        guard created.status == 201 else { throw HTTPConnection.Failure(description: "create repository: \(created.status)") }

        // PUT 4 KiB objects, each request with its body's SHA-256 signed (what boto3 sends over
        // plain HTTP), so the gateway hashes and verifies every body.
        let payload = [UInt8]((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let payloadHash = ContentHash.sha256Hex(payload)
        let perClient = (smallObjects + clients - 1) / clients
        @Sendable func key(_ c: Int, _ n: Int) -> String { "small/\(c)/\(n).bin" }
        let putHeaders = (0..<clients).map { c in
            (0..<perClient).map { n in signer.headers("PUT", "/bench/main/" + key(c, n), payloadHash: payloadHash) }
        }
        let put = try runLoad(port: server.port, clients: clients, total: smallObjects, request: { c, n in
            ("PUT", "/bench/main/" + key(c, n), putHeaders[c][n], payload)
        }, expect: 200)
        report.add("put_4k_per_s", put.perSecond, "ops/s")
        report.add("put_4k_p99_ms", put.p99ms, "ms")

        // Readers of a published branch read committed objects; nginx serves the same bytes.
        let commit = try rest.send(method: "POST", path: "/api/v1/repositories/bench/branches/main/commits", headers: basic,
                                   body: Array(#"{"message":"small objects"}"#.utf8))
        guard commit.status == 201 else { throw HTTPConnection.Failure(description: "commit: \(commit.status)") }
        for c in 0..<clients {
            let d = www.appendingPathComponent("small/\(c)")
            try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
            for n in 0..<perClient { try Data(payload).write(to: d.appendingPathComponent("\(n).bin")) }
        }
        let getHeaders = putHeaders.indices.map { c in (0..<perClient).map { n in signer.headers("GET", "/bench/main/" + key(c, n)) } }
        let headHeaders = putHeaders.indices.map { c in (0..<perClient).map { n in signer.headers("HEAD", "/bench/main/" + key(c, n)) } }
        // A stride through a client's keys, so consecutive requests hit different objects.
        @Sendable func pick(_ n: Int) -> Int { (n &* 7919) % perClient }
        let get = try runLoad(port: server.port, clients: clients, total: gets, request: { c, n in
            ("GET", "/bench/main/" + key(c, pick(n)), getHeaders[c][pick(n)], [])
        }, expect: 200)
        let nginxGet = try runLoad(port: nginx.port, clients: clients, total: gets, request: { c, n in
            ("GET", "/" + key(c, pick(n)), "", [])
        }, expect: 200)
        report.add("get_4k_per_s", get.perSecond, "ops/s")
        report.add("get_4k_p99_ms", get.p99ms, "ms")
        report.add("nginx_get_4k_per_s", nginxGet.perSecond, "ops/s")
        report.add("get_4k_vs_nginx", get.perSecond / nginxGet.perSecond, "ratio")
        // The HTTP stack's own ceiling here: an unauthenticated request that does nothing
        // (`GET /api/v1/healthcheck`, 204), so the GET figures can be read against it.
        let floor = try runLoad(port: server.port, clients: clients, total: gets, request: { _, _ in
            ("GET", "/api/v1/healthcheck", "", [])
        }, expect: 204)
        report.add("http_floor_per_s", floor.perSecond, "ops/s")
        let head = try runLoad(port: server.port, clients: clients, total: gets, request: { c, n in
            ("HEAD", "/bench/main/" + key(c, pick(n)), headHeaders[c][pick(n)], [])
        }, expect: 200)
        report.add("head_per_s", head.perSecond, "ops/s")
        report.add("head_p99_ms", head.p99ms, "ms")

        // One client paging through the whole committed listing, 1,000 keys a page.
        var listed = 0
        let listSeconds = try timed { listed = try listAll(port: server.port, signer: signer) }
        guard listed == listedKeys else { throw HTTPConnection.Failure(description: "listed \(listed) keys, seeded \(listedKeys)") }
        report.add("list_keys_per_s", Double(listed) / listSeconds, "keys/s")

        // Big objects over one connection each: the same pattern bytes in Tarn and on nginx's disk.
        let pattern = [UInt8]((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13) })
        try writeFile(www.appendingPathComponent("big.bin"), bytes: bigBytes, pattern: pattern)
        let stream = try HTTPConnection(port: server.port)
        let putBig = try timed {
            try expectStatus(stream.transfer(method: "PUT", path: "/bench/main/big.bin",
                                             headers: signer.headers("PUT", "/bench/main/big.bin", payloadHash: SigV4.unsignedPayload),
                                             length: bigBytes, pattern: pattern), 200, "PUT big.bin")
        }
        report.add("put_2g_mb_per_s", Double(bigBytes) / 1e6 / putBig, "MB/s")
        // Best of three for each side: single transfers on a shared 2-core VM are noisy.
        let nginxStream = try HTTPConnection(port: nginx.port)
        var tarnBest = 0.0, nginxBest = 0.0
        for _ in 0..<3 {
            let t = try timed {
                let r = try stream.transfer(method: "GET", path: "/bench/main/big.bin", headers: signer.headers("GET", "/bench/main/big.bin"))
                try expectStatus(r, 200, "GET big.bin")
                guard r.bodyBytes == bigBytes else { throw HTTPConnection.Failure(description: "GET big.bin: \(r.bodyBytes) bytes") }
            }
            tarnBest = max(tarnBest, Double(bigBytes) / 1e6 / t)
            let n = try timed { try expectStatus(nginxStream.transfer(method: "GET", path: "/big.bin", headers: ""), 200, "nginx GET big.bin") }
            nginxBest = max(nginxBest, Double(bigBytes) / 1e6 / n)
        }
        report.add("get_2g_mb_per_s", tarnBest, "MB/s")
        report.add("nginx_get_2g_mb_per_s", nginxBest, "MB/s")
        report.add("get_2g_vs_nginx", tarnBest / nginxBest, "ratio")

        // Memory while a 5 GiB object streams in and back out.
        let before = server.rssMB()
        server.resetPeakRSS()
        try expectStatus(stream.transfer(method: "PUT", path: "/bench/main/huge.bin",
                                         headers: signer.headers("PUT", "/bench/main/huge.bin", payloadHash: SigV4.unsignedPayload),
                                         length: streamBytes, pattern: pattern), 200, "PUT huge.bin")
        let back = try stream.transfer(method: "GET", path: "/bench/main/huge.bin", headers: signer.headers("GET", "/bench/main/huge.bin"))
        try expectStatus(back, 200, "GET huge.bin")
        guard back.bodyBytes == streamBytes else { throw HTTPConnection.Failure(description: "GET huge.bin: \(back.bodyBytes) bytes") }
        report.add("stream_5g_rss_growth_mb", max(0, server.peakRSSMB() - before), "MB")
        report.add("rss_after_mb", server.rssMB(), "MB")
        report.add("get_4k_vs_target", get.perSecond / 10_000, "ratio")
        report.add("put_4k_vs_target", put.perSecond / 4_000, "ratio")
        report.add("head_vs_target", head.perSecond / 12_000, "ratio")
        report.add("list_keys_vs_target", Double(listed) / listSeconds / 150_000, "ratio")
        print(report.json())
    }

    /// Repository `listing` with `listedKeys` committed entries (the engine benchmark's
    /// partitioned table layout); the bytes are never read, so no objects back them.
    func seedListing(databasePath: String) throws {
        let store = try SQLiteStore(path: databasePath)
        let engine = VersioningEngine(store: store)
        try engine.createRepository(name: "listing", storageNamespace: "local://listing")
        let layout = EngineBenchmark(quick: quick)
        for chunk in stride(from: 0, to: listedKeys, by: 10_000) {
            let changes = (chunk..<min(chunk + 10_000, listedKeys)).map { Change.put(layout.entry(layout.path($0), 0)) }
            try engine.stage(repository: "listing", branch: "main", changes: changes)
        }
        _ = try engine.commit(repository: "listing", branch: "main", CommitOptions(message: "seed"))
        try engine.sweepStaging(limit: .max)
    }

    /// Pages through `listing/main/` with ListObjectsV2 and returns how many keys came back.
    func listAll(port: Int, signer: S3Signer) throws -> Int {
        let connection = try HTTPConnection(port: port)
        var token: String?
        var count = 0
        repeat {
            var query: [(name: String, value: String)] = [("list-type", "2"), ("max-keys", "1000"), ("prefix", "main/")]
            if let token { query.append(("continuation-token", token)) }
            let page = try connection.send(method: "GET", path: S3Signer.target("/listing", query: query),
                                           headers: signer.headers("GET", "/listing", query: query))
            guard page.status == 200 else {
                throw HTTPConnection.Failure(description: "list: \(page.status) \(String(decoding: page.body, as: UTF8.self))")
            }
            // Byte scans, not Foundation string searches: the client shares the cores.
            count += occurrences(of: Array("<Key>".utf8), in: page.body)
            token = text(between: Array("<NextContinuationToken>".utf8), and: UInt8(ascii: "<"), in: page.body)
        } while token != nil
        return count
    }

    func occurrences(of needle: [UInt8], in hay: [UInt8]) -> Int {
        var count = 0, i = 0
        while i + needle.count <= hay.count {
            if hay[i] == needle[0] && hay[i..<(i + needle.count)].elementsEqual(needle) { count += 1; i += needle.count } else { i += 1 }
        }
        return count
    }

    /// The text after the first `open` up to the byte `end`, or nil.
    func text(between open: [UInt8], and end: UInt8, in hay: [UInt8]) -> String? {
        var i = 0
        while i + open.count <= hay.count {
            if hay[i] == open[0] && hay[i..<(i + open.count)].elementsEqual(open) {
                let start = i + open.count
                guard let stop = hay[start...].firstIndex(of: end) else { return nil }
                return String(decoding: hay[start..<stop], as: UTF8.self)
            }
            i += 1
        }
        return nil
    }

    func writeFile(_ url: URL, bytes: Int, pattern: [UInt8]) throws {
        FileManager.default.createFile(atPath: url.path, contents: nil)
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        var left = bytes
        while left > 0 {
            let n = min(left, pattern.count)
            try handle.write(contentsOf: pattern[0..<n])
            left -= n
        }
    }

    func expectStatus(_ r: (status: Int, bodyBytes: Int, errorBody: String), _ status: Int, _ what: String) throws {
        guard r.status == status else { throw HTTPConnection.Failure(description: "\(what): \(r.status) \(r.errorBody)") }
    }
}

/// nginx from Debian serving `root` on a free loopback port with as many workers as cores:
/// the physical reference for the gateway's figures. Stopped by PID.
final class NginxProcess {
    let process = Process()
    let port: Int
    var pid: Int32 { process.processIdentifier }

    init(root: URL, scratch: URL) throws {
        let candidates = [ProcessInfo.processInfo.environment["NGINX"], "/usr/sbin/nginx", "/usr/bin/nginx"].compactMap { $0 }
        guard let binary = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw HTTPConnection.Failure(description: "nginx not found: install Debian's nginx-light (make bench does) or set NGINX")
        }
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        port = try freePort()
        let s = scratch.path
        let config = """
            daemon off;
            worker_processes auto;
            pid \(s)/nginx.pid;
            error_log \(s)/error.log;
            events { worker_connections 1024; }
            http {
                access_log off;
                sendfile on;
                sendfile_max_chunk 0;
                tcp_nopush on;
                keepalive_requests 1000000;
                client_body_temp_path \(s)/body;
                proxy_temp_path \(s)/proxy;
                fastcgi_temp_path \(s)/fastcgi;
                uwsgi_temp_path \(s)/uwsgi;
                scgi_temp_path \(s)/scgi;
                default_type application/octet-stream;
                server { listen 127.0.0.1:\(port); root \(root.path); }
            }
            """
        let file = scratch.appendingPathComponent("nginx.conf")
        try config.write(to: file, atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["-p", s, "-c", file.path]
        process.standardError = FileHandle.nullDevice
        try process.run()
        // nginx prints nothing when ready: connect until it accepts, or fail if it exits.
        var attempts = 0
        while (try? HTTPConnection(port: port)) == nil {
            guard process.isRunning, attempts < 500 else {
                throw HTTPConnection.Failure(description: "nginx did not start: \((try? String(contentsOfFile: s + "/error.log", encoding: .utf8)) ?? "")")
            }
            attempts += 1
            usleep(10_000)
        }
    }

    func stop() {
        guard process.isRunning else { return }
        kill(pid, SIGTERM)
        process.waitUntilExit()
    }
}

/// A loopback port nothing listens on at the moment (the kernel's pick for port 0).
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
    }
    guard ok else { throw HTTPConnection.Failure(description: "no free port: \(errno)") }
    return Int(UInt16(bigEndian: addr.sin_port))
}
