import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `type: exec`: runs a program on the server with the event as JSON on stdin and as
/// `TARN_EVENT_*` variables; exit status 0 passes. The program gets a small environment
/// (PATH, HOME, LANG, the `TARN_ACTIONS_*` / `LAKEFSACTIONS_*` variables hooks may read),
/// never the server's credentials. On timeout its whole process group is killed, so a
/// script's children do not outlive it.
struct ExecHook {
    let command: String
    let args: [String]
    let timeout: Duration

    init(_ p: Properties) {
        command = p.string("command") ?? ""
        if case let .list(l)? = p["args"] { args = l } else { args = [] }
        timeout = HookProperties.timeout(p)
    }

    /// Writing the payload to a program that exits without reading it must give EPIPE, not
    /// kill the server with SIGPIPE.
    private static let ignoreSIGPIPE: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    func run(payload: Data, eventEnvironment: [String: String], serverEnvironment: [String: String],
             output: inout BoundedOutput) async -> String? {
        _ = Self.ignoreSIGPIPE
        output.append("Command: \(([command] + args).joined(separator: " "))\n")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command)
        process.arguments = args
        var env = eventEnvironment
        for (k, v) in serverEnvironment where ["PATH", "HOME", "LANG", "TMPDIR"].contains(k)
            || SecretTemplate.allowedPrefixes.contains(where: k.hasPrefix) { env[k] = v }
        if env["PATH"] == nil { env["PATH"] = "/usr/local/bin:/usr/bin:/bin" }
        process.environment = env
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        let exit = ExitWaiter()
        process.terminationHandler = { p in exit.finish(p.terminationStatus, signaled: p.terminationReason == .uncaughtSignal) }
        do {
            try process.run()
        } catch {
            output.append("Error: cannot start: \(error)\n")
            return "cannot start \(command): \(error.localizedDescription)"
        }
        let pid = process.processIdentifier
        let input = stdin.fileHandleForWriting
        DispatchQueue.global().async {
            try? input.write(contentsOf: payload)
            try? input.close()
        }
        let limit = output.limit
        async let out = Self.drain(stdout.fileHandleForReading, limit: limit)
        async let err = Self.drain(stderr.fileHandleForReading, limit: limit)
        let timedOut = Atomic<Bool>(false)
        let timer = DispatchWorkItem {
            if exit.isRunning {
                timedOut.store(true, ordering: .relaxed)
                // Foundation starts the child as its own process group's leader.
                kill(-pid, SIGKILL)
                kill(pid, SIGKILL)
            }
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(GoDuration.nanoseconds(timeout))), execute: timer)
        let (status, signaled) = await exit.wait()
        timer.cancel()
        let (o, e) = await (out, err)
        output.append("Exit status: \(signaled ? "killed by signal \(status)" : String(status))\n")
        output.append("--- stdout ---\n")
        output.append(o)
        output.append("--- stderr ---\n")
        output.append(e)
        if timedOut.load(ordering: .relaxed) { return "\(command) timed out after \(GoDuration.describe(timeout)) and was killed" }
        if signaled { return "\(command) was killed by signal \(status)" }
        if status != 0 {
            let last = e.split(separator: "\n").last.map { ": " + $0.prefix(300) } ?? ""
            return "\(command) exited with status \(status)\(last)"
        }
        return nil
    }

    /// Reads a pipe to its end on a thread of its own, keeping at most `limit` bytes.
    private static func drain(_ handle: FileHandle, limit: Int) async -> String {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var kept = BoundedOutput(limit: limit)
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    kept.append(String(decoding: chunk, as: UTF8.self))
                }
                try? handle.close()
                continuation.resume(returning: kept.result)
            }
        }
    }
}

/// The exit of a child process, awaited once.
private final class ExitWaiter: Sendable {
    private struct State {
        var result: (Int32, Bool)?
        var waiter: CheckedContinuation<(Int32, Bool), Never>?
    }
    private let state = Mutex(State())

    var isRunning: Bool { state.withLock { $0.result == nil } }

    func finish(_ status: Int32, signaled: Bool) {
        let waiter = state.withLock { s -> CheckedContinuation<(Int32, Bool), Never>? in
            s.result = (status, signaled)
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume(returning: (status, signaled))
    }

    func wait() async -> (Int32, Bool) {
        await withCheckedContinuation { c in
            let done = state.withLock { s -> (Int32, Bool)? in
                if let r = s.result { return r }
                s.waiter = c
                return nil
            }
            if let done { c.resume(returning: done) }
        }
    }
}
