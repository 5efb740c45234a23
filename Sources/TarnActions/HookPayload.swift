import Foundation
import TarnCore

/// The JSON every hook receives (a webhook's body, an exec hook's stdin): lakeFS's
/// `EventInfo`, empty fields left out as lakeFS's `omitempty` does.
struct HookPayload {
    var fields: [(key: String, value: String)] = []
    var metadata: [String: String]

    init(_ event: HookEvent, action: String, hookID: String) {
        let time = ISO8601DateFormatter().string(from: event.time)
        let all: [(String, String)] = [
            ("event_type", event.type.rawValue), ("event_time", time), ("action_name", action), ("hook_id", hookID),
            ("repository_id", event.repository), ("branch_id", event.branch), ("source_ref", event.sourceRef),
            ("tag_id", event.tagID), ("commit_id", event.commitID), ("commit_message", event.commitMessage),
            ("committer", event.committer), ("merge_source", event.mergeSource),
        ]
        fields = all.filter { !$0.1.isEmpty }
        metadata = event.commitMetadata
    }

    var json: Data {
        var object: [String: Any] = [:]
        for (k, v) in fields { object[k] = v }
        if !metadata.isEmpty { object["commit_metadata"] = metadata }
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
    }

    /// The same fields as `TARN_EVENT_*` variables for exec hooks: the key upper-cased, without
    /// a leading `event_` (`TARN_EVENT_TYPE`, `TARN_EVENT_BRANCH_ID`, `TARN_EVENT_COMMIT_METADATA` as JSON).
    var environment: [String: String] {
        var env: [String: String] = [:]
        for (k, v) in fields {
            let name = k.hasPrefix("event_") ? String(k.dropFirst(6)) : k
            env["TARN_EVENT_" + name.uppercased()] = v
        }
        if !metadata.isEmpty, let data = try? JSONSerialization.data(withJSONObject: metadata, options: [.sortedKeys]) {
            env["TARN_EVENT_COMMIT_METADATA"] = String(decoding: data, as: UTF8.self)
        }
        return env
    }
}

/// Collects a hook's output up to a limit, saying how much was left out.
struct BoundedOutput {
    let limit: Int
    private(set) var text = ""
    private var dropped = 0

    init(limit: Int) { self.limit = limit }

    mutating func append(_ s: String) {
        let room = limit - text.utf8.count
        if s.utf8.count <= room { text += s; return }
        if room > 0 { text += String(decoding: s.utf8.prefix(room), as: UTF8.self) }
        dropped += s.utf8.count - max(room, 0)
    }

    var result: String { dropped > 0 ? text + "\n… (\(dropped) more bytes not kept)\n" : text }
}
