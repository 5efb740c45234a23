import Crypto
import Foundation
import TarnClient
import TarnCore

/// `tarn-bench cli`: the `tarn` CLI (the binary beside this one) against a `tarn serve` it
/// starts. Issue 6's figures: a recursive upload of 10,000 files of 4 KiB (≤ 10 s), a
/// recursive download of a 1 GiB folder of 64 MiB files (≥ 300 MB/s), and `tarn local status`
/// over a checkout of 100,000 files with 10 changed (≤ 2 s). `--quick`: 1,000 files, 128 MiB,
/// 10,000 files.
struct CLIBenchmark {
    let quick: Bool
    var smallFiles: Int { quick ? 1_000 : 10_000 }
    var bigFiles: Int { quick ? 2 : 16 }
    var statusFiles: Int { quick ? 10_000 : 100_000 }

    func run() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tarn-bench-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try ServerProcess(dataDirectory: dir.appendingPathComponent("server"), environment: [
            "TARN_ADMIN_ACCESS_KEY_ID": APIBenchmark.keyID, "TARN_ADMIN_SECRET_ACCESS_KEY": APIBenchmark.secret,
        ])
        defer { server.stop() }
        Report.note("tarn-bench cli (\(quick ? "quick" : "full")): tarn pid \(server.pid) on 127.0.0.1:\(server.port)")
        var report = Report()
        let env = ["TARN_SERVER_ENDPOINT_URL": "http://127.0.0.1:\(server.port)", "TARN_CREDENTIALS_ACCESS_KEY_ID": APIBenchmark.keyID,
                   "TARN_CREDENTIALS_SECRET_ACCESS_KEY": APIBenchmark.secret, "HOME": dir.path]
        func tarn(_ args: String...) throws -> Double {
            try timed {
                let p = Process()
                p.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("tarn")
                p.arguments = args
                p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
                p.standardOutput = FileHandle.nullDevice
                try p.run()
                p.waitUntilExit()
                guard p.terminationStatus == 0 else { throw HTTPConnection.Failure(description: "tarn \(args.joined(separator: " ")) exited \(p.terminationStatus)") }
            }
        }
        _ = try tarn("repo", "create", "lakefs://bench", "local://bench")

        // 10,000 small files up, recursively.
        let small = dir.appendingPathComponent("small")
        let payload = Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        for i in 0..<smallFiles {
            let sub = small.appendingPathComponent("d\(i % 100)")
            if i < 100 { try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true) }
            try payload.write(to: sub.appendingPathComponent("f\(i).bin"))
        }
        report.add("upload_r_10k_small_files_s", try tarn("fs", "upload", "lakefs://bench/main/small/", "--source", small.path, "-r"), "s")

        // A folder of 64 MiB files down, recursively (uploaded first, not timed).
        let big = dir.appendingPathComponent("big")
        try FileManager.default.createDirectory(at: big, withIntermediateDirectories: true)
        let chunk = Data((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) })
        for i in 0..<bigFiles {
            FileManager.default.createFile(atPath: big.appendingPathComponent("part-\(i).bin").path, contents: nil)
            let h = try FileHandle(forWritingTo: big.appendingPathComponent("part-\(i).bin"))
            for _ in 0..<64 { try h.write(contentsOf: chunk) }
            try h.close()
        }
        _ = try tarn("fs", "upload", "lakefs://bench/main/big/", "--source", big.path, "-r")
        _ = try tarn("commit", "lakefs://bench/main", "-m", "bench data")
        let seconds = try tarn("fs", "download", "lakefs://bench/main/big/", dir.appendingPathComponent("down").path, "-r")
        report.add("download_r_1g_mb_per_s", Double(bigFiles * 64 << 20) / 1e6 / seconds, "MB/s")

        // A checkout of 100,000 files, 10 of them changed. Its index is written with the CLI's
        // own code, as `tarn local clone` would (cloning 100k objects would measure downloads).
        let checkout = dir.appendingPathComponent("checkout")
        var files: [String: LocalIndex.File] = [:]
        let md5 = ContentHash.hex(Insecure.MD5.hash(data: payload))
        for i in 0..<statusFiles {
            let sub = checkout.appendingPathComponent("d\(i % 1000)")
            if i < 1000 { try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true) }
            try payload.write(to: sub.appendingPathComponent("f\(i).bin"))
        }
        for (path, st) in LocalIndex.walk(checkout.path) { files[path] = LocalIndex.File(md5: md5, size: st.size, mtime: st.mtime) }
        let conn = try HTTPConnection(port: server.port)
        let head = try conn.send(method: "GET", path: "/api/v1/repositories/bench/branches/main", headers: APIBenchmark(quick: quick).auth)
        guard head.status == 200, let commit = JSON.parse(head.body)?["commit_id"].string else { throw HTTPConnection.Failure(description: "branch main: \(head.status)") }
        try LocalIndex(source: LakeFSURI(repository: "bench", ref: "main", path: "small/"), commit: commit, files: files).save(checkout.path)
        for i in 0..<10 { try Data("changed \(i)".utf8).write(to: checkout.appendingPathComponent("d\(i)/f\(i).bin")) }
        report.add("local_status_100k_s", try tarn("local", "status", checkout.path), "s")

        report.add("upload_r_10k_vs_target", 10 / report.value("upload_r_10k_small_files_s"), "ratio")
        report.add("download_r_vs_target", report.value("download_r_1g_mb_per_s") / 300, "ratio")
        report.add("local_status_vs_target", 2 / report.value("local_status_100k_s"), "ratio")
        print(report.json())
    }
}
