import Foundation
import TarnCore
import TarnMetadata

/// A fresh engine over a SQLite file in its own temporary directory.
final class Lake {
    let directory: URL
    let store: SQLiteStore
    let engine: VersioningEngine

    init(policy: RangePolicy = .standard) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("tarn-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        store = try SQLiteStore(path: directory.appendingPathComponent("tarn.sqlite").path)
        engine = VersioningEngine(store: store, policy: policy)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// Creates repository `repo` with default branch `main`.
    @discardableResult
    func repo(_ name: String = "repo") throws -> Repository {
        try engine.createRepository(name: name, storageNamespace: "local://\(name)")
    }
}

func entry(_ path: String, _ version: String = "v1") -> Entry {
    Entry(path: path, physicalAddress: "data/\(path)/\(version)", size: Int64(version.utf8.count),
          checksum: version, contentType: "text/plain", metadata: [:], mtime: 1_700_000_000)
}

extension VersioningEngine {
    func put(_ repo: String, _ branch: String, _ path: String, _ version: String = "v1") throws {
        try putObject(repository: repo, branch: branch, entry: entry(path, version))
    }

    func commit(_ repo: String, _ branch: String, _ message: String = "c") throws -> Commit {
        try commit(repository: repo, branch: branch, CommitOptions(message: message, committer: "tester"))
    }

    /// Every visible path on a ref with its checksum (the "version" written by `put`).
    func contents(_ repo: String, _ ref: String) throws -> [String: String] {
        var out: [String: String] = [:]
        var after = ""
        while true {
            let page = try listObjects(repository: repo, ref: ref, after: after, amount: 100)
            for row in page.items { out[row.path] = row.entry!.checksum }
            guard page.hasMore, let last = page.items.last else { return out }
            after = last.path
        }
    }
}
