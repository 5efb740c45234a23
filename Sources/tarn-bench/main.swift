import Foundation
import TarnCore
import TarnMetadata

// tarn-bench NAME [--quick]: benchmarks that build what they measure, print one line per
// figure (`name value unit`) and end with one JSON object of all figures.
let arguments = Array(CommandLine.arguments.dropFirst())
let quick = arguments.contains("--quick")
guard let name = arguments.first(where: { !$0.hasPrefix("--") }) else {
    FileHandle.standardError.write("usage: tarn-bench engine|api|s3|cli|backend|lineage [--quick]\n".data(using: .utf8)!)
    exit(2)
}
// A benchmark that fails (a server that does not start, a tool that is missing) says why and
// exits 1; what it started is stopped by its own `defer`s on the way out.
do {
    switch name {
    case "engine":
        try EngineBenchmark(quick: quick).run()
    case "api":
        try APIBenchmark(quick: quick).run()
    case "s3":
        try S3Benchmark(quick: quick).run()
    case "cli":
        try CLIBenchmark(quick: quick).run()
    case "backend":
        try BackendBenchmark(quick: quick).run()
    case "lineage":
        try LineageBenchmark(quick: quick).run()
    default:
        FileHandle.standardError.write("unknown benchmark \(name); available: engine, api, s3, cli, backend, lineage\n".data(using: .utf8)!)
        exit(2)
    }
} catch {
    FileHandle.standardError.write("tarn-bench \(name): \(error)\n".data(using: .utf8)!)
    exit(1)
}
