import Foundation
import TarnCore
import TarnMetadata

// Child process for the crash test (Tests/TarnEngineTests/CrashTests.swift): opens the
// database given as the first argument and commits batches on branch `main` of repository
// `crash` forever, printing "committed <id>" after each commit returns. The test kills it
// with SIGKILL at some point and checks what is left.
guard CommandLine.arguments.count == 3, let batch = Int(CommandLine.arguments[2]) else {
    FileHandle.standardError.write("usage: tarn-crash-helper DB BATCH\n".data(using: .utf8)!)
    exit(2)
}
let store = try SQLiteStore(path: CommandLine.arguments[1])
let engine = VersioningEngine(store: store)
if (try? engine.repository("crash")) == nil {
    try engine.createRepository(name: "crash", storageNamespace: "local://crash")
}
var round = 0
while true {
    round += 1
    let stamp = "\(getpid())-\(round)"
    let changes: [Change] = (0..<batch).map { i in
        .put(Entry(path: "data/\(i % 997)/part-\(i).bin", physicalAddress: "addr/\(stamp)/\(i)", size: Int64(i),
                   checksum: stamp, contentType: "application/octet-stream"))
    }
    try engine.stage(repository: "crash", branch: "main", changes: changes)
    let c = try engine.commit(repository: "crash", branch: "main", CommitOptions(message: stamp))
    FileHandle.standardOutput.write("committed \(c.id)\n".data(using: .utf8)!)
}
