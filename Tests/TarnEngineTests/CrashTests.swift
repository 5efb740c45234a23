import Foundation
import Testing
import TarnCore
import TarnMetadata

/// A child process commits in a loop and is killed with SIGKILL; on reopen the database must
/// pass SQLite's integrity check, the branch must be at the last commit the child reported or
/// at the one it was finishing, and that commit's whole tree must be readable.
@Suite struct CrashTests {
    static var helper: URL {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("tarn-crash-helper")
    }

    @Test func killedCommitterLeavesOldOrNewCommit() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tarn-crash-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("tarn.sqlite").path
        #expect(FileManager.default.isExecutableFile(atPath: Self.helper.path), "missing \(Self.helper.path)")

        for (cycle, commitsBeforeKill) in [1, 3, 2, 4].enumerated() {
            let reported = try runAndKill(db: db, batch: 3000 + 1000 * cycle, after: commitsBeforeKill)
            let store = try SQLiteStore(path: db)
            #expect(try store.integrityCheck() == "ok")
            let engine = VersioningEngine(store: store)
            let head = try engine.branch(repository: "crash", name: "main").headCommitID
            let headCommit = try engine.getCommit(repository: "crash", id: head)
            #expect(head == reported.last || headCommit.parents.first == reported.last,
                    "cycle \(cycle): head \(head) is neither the last reported commit nor its child")
            // The whole committed tree reads back.
            var count = 0
            var after = ""
            while true {
                let page = try engine.listObjects(repository: "crash", ref: head, after: after, amount: 1000)
                count += page.items.count
                guard page.hasMore else { break }
                after = page.items.last!.path
            }
            #expect(count >= 3000)
            // Every reported commit is stored and on the first-parent history of the head.
            let history = Set(try engine.log(repository: "crash", ref: head, amount: 1000, firstParent: true).items.map(\.id))
            for id in reported { #expect(history.contains(id)) }
        }
    }

    /// Starts the helper, reads its output until it has reported `after` commits, kills it
    /// with SIGKILL while it works on the next one, and returns the reported commit IDs.
    func runAndKill(db: String, batch: Int, after: Int) throws -> [String] {
        let process = Process()
        process.executableURL = Self.helper
        process.arguments = [db, String(batch)]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        var reported: [String] = []
        var buffer = Data()
        while reported.count < after {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break } // the child died on its own: the expectations below fail
            buffer.append(chunk)
            while let newline = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex...newline)
                if line.hasPrefix("committed ") { reported.append(String(line.dropFirst(10))) }
            }
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(reported.count >= after, "helper stopped early")
        #expect(process.terminationReason == .uncaughtSignal)
        return reported
    }
}
