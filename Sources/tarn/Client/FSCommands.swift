import ArgumentParser
import Foundation
import TarnClient

struct FS: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fs", abstract: "Objects: list, read, stat, upload, download, remove.",
                                                    subcommands: [Ls.self, Cat.self, Stat.self, Upload.self, Download.self, Rm.self])

    struct Ls: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "List objects and prefixes under lakefs://REPO/REF/PREFIX.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "lakefs://REPO/REF[/PREFIX]") var path: String
        @Flag(name: [.short, .long], help: "Every object below, not one level.") var recursive = false

        func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
            var u = try uri(path)
            if let p = u.path, !p.isEmpty, !p.hasSuffix("/"), !recursive { u.path = p + "/" }
            let items = try await client.listObjects(u, delimiter: recursive ? nil : "/")
            out.list(items, columns: [("type", { $0["path_type"].text == "common_prefix" ? "prefix" : "object" }),
                                      ("modified", { $0["mtime"].int == nil ? "" : time($0["mtime"]) }),
                                      ("size", { $0["size_bytes"].int.map(String.init) ?? "" }), ("path", { $0["path"].text })])
        }
    }

    struct Cat: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Write an object's bytes to stdout.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "lakefs://REPO/REF/PATH") var path: String

        func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
            try await client.download(try uri(path), into: FileHandle.standardOutput)
        }
    }

    struct Stat: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "An object's path, size, checksum, modification time and metadata.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "lakefs://REPO/REF/PATH") var path: String

        func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
            let s = try await client.stat(try uri(path))
            out.document(s) {
                ["Path: \(s["path"].text)", "Modified Time: \(time(s["mtime"]))", "Size: \(s["size_bytes"].text) bytes",
                 "Human Size: \(ByteCountFormatter.string(fromByteCount: s["size_bytes"].int ?? 0, countStyle: .binary))",
                 "Physical Address: \(s["physical_address"].text)", "Checksum: \(s["checksum"].text)", "Content-Type: \(s["content_type"].text)"]
                    + s["metadata"].object.sorted { $0.key < $1.key }.map { "Metadata: \($0.key) = \($0.value.text)" }
            }
        }
    }

    struct Upload: ClientCommand {
        static let configuration = CommandConfiguration(
            abstract: "Upload a file, or a folder with -r: tarn fs upload lakefs://REPO/BRANCH/PATH --source LOCAL [-r]",
            discussion: "Files are streamed; with -r, several at once, and files whose size and MD5 match the object already there are skipped.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "lakefs://REPO/BRANCH/PATH (a prefix with -r)") var path: String
        @Option(name: [.short, .long], help: "Local file or folder.") var source: String
        @Flag(name: [.short, .long], help: "Upload a folder's files, keeping their relative paths.") var recursive = false
        @Option(name: [.short, .long], help: "Transfers at once with -r.") var parallelism = 8
        @Option(name: .customLong("content-type"), help: "Content type of a single upload.") var contentType: String?

        /// A path as a folder prefix: empty, or ending in `/`.
        static func folder(_ path: String?) -> String {
            guard let p = path, !p.isEmpty else { return "" }
            return p.hasSuffix("/") ? p : p + "/"
        }

        func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
            let dest = try uri(path)
            _ = try dest.requireRef("branch")
            guard recursive else {
                let s = try await client.upload(file: source, to: dest, contentType: contentType)
                out.document(s) { ["Path: \(s["path"].text)", "Size: \(s["size_bytes"].text) bytes", "Checksum: \(s["checksum"].text)"] }
                return
            }
            let files = try localFiles(source)
            let prefix = Self.folder(dest.path)
            let remote = try await existing(client, LakeFSURI(repository: dest.repository, ref: dest.ref, path: prefix))
            let source = self.source
            try await transferFolder(files, verb: "Uploaded", parallelism: parallelism, out) { relative throws(ClientError) in
                let local = source + "/" + relative
                if let (size, checksum) = remote[prefix + relative], size == fileSize(local), checksum == APIClient.md5(file: local) { return nil }
                let s = try await client.upload(file: local, to: LakeFSURI(repository: dest.repository, ref: dest.ref, path: prefix + relative))
                return s["size_bytes"].int ?? 0
            }
        }
    }

    struct Download: ClientCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download an object, or everything under a prefix with -r: tarn fs download lakefs://REPO/REF/PATH [LOCAL] [-r]",
            discussion: "Files are streamed to a temporary name and renamed when complete; with -r, several at once, and local files whose size and MD5 match are skipped.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "lakefs://REPO/REF/PATH (a prefix with -r)") var path: String
        @Argument(help: "Local file or folder (default: the object's name / the current folder).") var destination: String?
        @Flag(name: [.short, .long], help: "Download every object under the prefix, keeping relative paths.") var recursive = false
        @Option(name: [.short, .long], help: "Transfers at once with -r.") var parallelism = 8

        func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
            let src = try uri(path)
            guard recursive else {
                let name = (src.path ?? "").split(separator: "/").last.map(String.init) ?? "download"
                var local = destination ?? name
                var isDir: ObjCBool = false
                if FileManager.default.fileExists(atPath: local, isDirectory: &isDir), isDir.boolValue { local += "/" + name }
                let n = try await client.download(src, to: local).bytes
                out.document(.object(["path": .string(local), "bytes": .number(Double(n))])) { ["Downloaded \(n) bytes to \(local)"] }
                return
            }
            let prefix = Upload.folder(src.path)
            let root = destination ?? "."
            let objects = try await client.listObjects(LakeFSURI(repository: src.repository, ref: src.ref, path: prefix))
            try await transferFolder(objects, verb: "Downloaded", parallelism: parallelism, out) { o throws(ClientError) in
                let p = o["path"].text
                let relative = String(p.dropFirst(prefix.count))
                guard !relative.isEmpty, !relative.split(separator: "/").contains("..") else { return nil }
                let local = root + "/" + relative
                if fileSize(local) == o["size_bytes"].int, APIClient.md5(file: local) == o["checksum"].text { return nil }
                return try await client.download(LakeFSURI(repository: src.repository, ref: src.ref, path: p), to: local).bytes
            }
        }
    }

    struct Rm: ClientCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an object, or everything under a prefix with -r (staged; commit to publish).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "lakefs://REPO/BRANCH/PATH") var path: String
        @Flag(name: [.short, .long], help: "Every object under the prefix.") var recursive = false

        func execute(_ client: APIClient, _ out: Output) async throws(ClientError) {
            let u = try uri(path)
            let branch = try u.requireRef("branch")
            guard recursive else {
                _ = try await client.call(.DELETE, "/repositories/\(seg(u.repository))/branches/\(seg(branch))/objects", query: [("path", u.path ?? "")])
                out.document(.object(["deleted": .number(1)])) { ["Deleted \(u)"] }
                return
            }
            let paths = try await client.listObjects(u).map { $0["path"] }
            for start in stride(from: 0, to: paths.count, by: 1000) {
                _ = try await client.call(.POST, "/repositories/\(seg(u.repository))/branches/\(seg(branch))/objects/delete",
                                          json: .object(["paths": .array(Array(paths[start..<min(start + 1000, paths.count)]))]))
            }
            out.document(.object(["deleted": .number(Double(paths.count))])) { ["Deleted \(paths.count) objects under \(u)"] }
        }
    }
}

/// Runs a folder transfer: `work` moves one item and returns its bytes, or nil when it was
/// unchanged and skipped; counts, progress line and the summary are kept here for both ways.
func transferFolder<T: Sendable>(_ items: [T], verb: String, parallelism: Int, _ out: Output,
                                 _ work: @escaping @Sendable (T) async throws(ClientError) -> Int64?) async throws(ClientError) {
    let tally = Tally()
    let progress = Progress(total: items.count, tally: tally, verb: verb, enabled: !out.json)
    defer { progress.finish() }
    try await APIClient.forEach(items, parallelism: parallelism) { item throws(ClientError) in
        if let bytes = try await work(item) { tally.add(files: 1, bytes: bytes) } else { tally.add(skipped: 1) }
    }
    let t = tally.value
    out.document(.object([verb.lowercased(): .number(Double(t.files)), "skipped": .number(Double(t.skipped)), "bytes": .number(Double(t.bytes))])) {
        ["\(verb) \(t.files) files (\(t.bytes) bytes), skipped \(t.skipped) unchanged."]
    }
}

/// Counts of a folder transfer, updated from parallel tasks.
final class Tally: @unchecked Sendable {
    private let lock = NSLock()
    private var files = 0, skipped = 0
    private var bytes: Int64 = 0

    func add(files f: Int = 0, skipped s: Int = 0, bytes b: Int64 = 0) {
        lock.lock(); files += f; skipped += s; bytes += b; lock.unlock()
    }

    var value: (files: Int, skipped: Int, bytes: Int64) { lock.lock(); defer { lock.unlock() }; return (files, skipped, bytes) }
}

func fileSize(_ path: String) -> Int64? {
    (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value
}

/// Regular files under `root`, as paths relative to it.
func localFiles(_ root: String) throws(ClientError) -> [String] {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: root, isDirectory: &isDir), isDir.boolValue else {
        throw .usage("\(root) is not a folder (-r uploads a folder)")
    }
    guard let walker = FileManager.default.enumerator(atPath: root) else { throw .local("cannot read \(root)") }
    var out: [String] = []
    while let rel = walker.nextObject() as? String {
        if (walker.fileAttributes?[.type] as? FileAttributeType) == .typeRegular { out.append(rel) }
    }
    return out.sorted()
}

/// Path → (size, checksum) of the objects already under a prefix, to skip unchanged files.
func existing(_ client: APIClient, _ prefix: LakeFSURI) async throws(ClientError) -> [String: (Int64, String)] {
    var out: [String: (Int64, String)] = [:]
    do {
        for o in try await client.listObjects(prefix) { out[o["path"].text] = (o["size_bytes"].int ?? -1, o["checksum"].text) }
    } catch {
        if case let .server(status, _, _) = error, status == 404 { return [:] }
        throw error
    }
    return out
}

/// A one-line progress display on stderr for folder transfers: files, bytes and rate, redrawn
/// five times a second, only when stderr is a terminal and the output is for people (a pipe
/// or `--output json` gets nothing).
final class Progress: @unchecked Sendable {
    private let total: Int
    private let tally: Tally
    private let verb: String
    private var ticker: Task<Void, Never>?
    private let start = Date()

    init(total: Int, tally: Tally, verb: String, enabled: Bool) {
        (self.total, self.tally, self.verb) = (total, tally, verb)
        guard enabled, isatty(2) != 0 else { return }
        ticker = Task { [weak self] in
            while !Task.isCancelled {
                self?.draw(final: false)
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    private func draw(final: Bool) {
        let t = tally.value
        let seconds = max(Date().timeIntervalSince(start), 0.001)
        let mb = Double(t.bytes) / 1e6
        let line = String(format: "\r%@ %d/%d files (%d unchanged), %.1f MB, %.1f MB/s", verb, t.files + t.skipped, total, t.skipped, mb, mb / seconds)
        FileHandle.standardError.write(Data((line + (final ? "\n" : "")).utf8))
    }

    func finish() {
        guard let ticker else { return }
        ticker.cancel()
        draw(final: true)
    }
}
