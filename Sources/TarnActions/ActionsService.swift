import Foundation
import TarnCore

/// Tarn's `HookRunner`: parses the action files the catalog read from the event's source ref,
/// runs every matching action (actions in parallel, each action's hooks in file order, as
/// lakeFS does) and describes the run for the record. It never throws: a broken file or a
/// failing hook is a failed run, which the catalog turns into a refusal for `pre-*` events.
public struct ActionsService: HookRunner {
    /// Absolute paths of the programs `exec` hooks may run; empty disables exec hooks.
    public let execAllowList: Set<String>
    /// The server's environment: `{{ ENV.… }}` secrets and what exec hooks inherit come from it.
    public let environment: [String: String]
    /// Bytes of output kept per hook.
    public let outputLimit: Int

    public init(execAllowList: [String] = [], environment: [String: String] = ProcessInfo.processInfo.environment,
                outputLimit: Int = 64 << 10) {
        self.execAllowList = Set(execAllowList.map { URL(fileURLWithPath: $0).standardizedFileURL.path })
        self.environment = environment
        self.outputLimit = outputLimit
    }

    public func run(_ event: HookEvent, sources: [ActionSource]) async -> HookOutcome {
        var actions: [Action] = []
        var broken: [(String, String)] = []
        for source in sources.sorted(by: { $0.path < $1.path }) {
            switch Action.parse(String(decoding: source.bytes, as: UTF8.self), source: source.path) {
            case let .success(a): if a.matches(event.type, branch: event.branch) { actions.append(a) }
            case let .failure(e): broken.append((source.path, e.description))
            }
        }
        guard !actions.isEmpty || !broken.isEmpty else { return .none }
        let runID = Self.newRunID()
        let started = Date()
        var hooks: [HookRun] = []
        var failures: [String] = []
        // A file that does not parse fails the run: silently skipping it could let a merge
        // through that the file was meant to stop.
        for (i, (path, message)) in broken.enumerated() {
            let id = String(format: "%04d-0000", i)
            hooks.append(HookRun(id: id, runID: runID, action: path, hookID: "parse", startedAt: started, endedAt: started,
                                 passed: false, output: "Error: the action file does not parse:\n\(message)\n"))
            failures.append("hook run id '\(id)' failed: action file \(path) does not parse: \(message)")
        }
        let offset = broken.count
        let results = await withTaskGroup(of: (Int, [HookRun], String?).self) { group in
            for (i, action) in actions.enumerated() {
                group.addTask {
                    let (runs, failure) = await self.run(action, index: offset + i, event: event, runID: runID)
                    return (i, runs, failure)
                }
            }
            var all: [(Int, [HookRun], String?)] = []
            for await r in group { all.append(r) }
            return all.sorted { $0.0 < $1.0 }
        }
        for (_, runs, failure) in results {
            hooks += runs
            if let failure { failures.append(failure) }
        }
        let run = ActionRun(id: runID, repository: event.repository, branch: event.branch, commitID: event.commitID,
                            sourceRef: event.sourceRef, eventType: event.type.rawValue, startedAt: started, endedAt: Date(),
                            passed: failures.isEmpty)
        return HookOutcome(run: run, hooks: hooks, failure: failures.isEmpty ? nil : failures.joined(separator: "; "))
    }

    /// One action's hooks in order; the first failure is the action's.
    private func run(_ action: Action, index: Int, event: HookEvent, runID: String) async -> ([HookRun], String?) {
        var runs: [HookRun] = []
        var failure: String?
        for (j, hook) in action.hooks.enumerated() {
            guard (hook.condition ?? .success).evaluate(actionFailed: failure != nil) else { continue }
            let id = String(format: "%04d-%04d", index, j + 1)
            let started = Date()
            var output = BoundedOutput(limit: outputLimit)
            let reason = await run(hook, action: action, event: event, output: &output)
            if let reason {
                output.append("Error: \(reason)\n")
                if failure == nil {
                    failure = "hook run id '\(id)' failed on action '\(action.name)' hook '\(hook.id)': \(reason)"
                }
            }
            runs.append(HookRun(id: id, runID: runID, action: action.name, hookID: hook.id, startedAt: started, endedAt: Date(),
                                passed: reason == nil, output: output.result))
        }
        return (runs, failure)
    }

    private func run(_ hook: Action.Hook, action: Action, event: HookEvent, output: inout BoundedOutput) async -> String? {
        let payload = HookPayload(event, action: action.name, hookID: hook.id)
        switch HookType(rawValue: hook.type) {
        case .webhook:
            let webhook: WebhookHook
            do { webhook = try WebhookHook(hook.properties, environment: environment) } catch { return String(describing: error) }
            return await webhook.run(payload: payload.json, output: &output)
        case .exec:
            let exec = ExecHook(hook.properties)
            if execAllowList.isEmpty {
                return "exec hooks are disabled on this server (start it with --hooks-exec-allow \(exec.command))"
            }
            guard execAllowList.contains(URL(fileURLWithPath: exec.command).standardizedFileURL.path) else {
                return "\(exec.command) is not on the server's exec allow-list (--hooks-exec-allow)"
            }
            return await exec.run(payload: payload.json, eventEnvironment: payload.environment, serverEnvironment: environment,
                                  output: &output)
        case nil:
            return "hook type '\(hook.type)' is not supported by Tarn (use webhook or exec)"
        }
    }

    /// Run IDs sort newest first (the time is inverted), then by a random tail, so listing
    /// runs in key order lists the latest first, as lakeFS does.
    static func newRunID() -> String {
        let ms = UInt64(Date().timeIntervalSince1970 * 1000)
        let inverted = (UInt64(1) << 48) - 1 - ms
        return String(format: "%012llx", inverted) + String(format: "%08x", UInt32.random(in: 0...UInt32.max))
    }
}
