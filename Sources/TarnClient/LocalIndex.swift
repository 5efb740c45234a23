import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A local checkout's record of what it holds (`.tarn_ref.yaml` names the source and the
/// commit; `.tarn_index` has one line per file: MD5, size, mtime in nanoseconds, path). Status
/// compares the folder with it by size and mtime, and reads a file's bytes only when those
/// disagree, so a folder of 100,000 unchanged files costs a walk and 100,000 `lstat`s.
public struct LocalIndex: Sendable {
    public struct File: Sendable, Equatable {
        public var md5: String
        public var size: Int64
        public var mtime: Int64

        public init(md5: String, size: Int64, mtime: Int64) { (self.md5, self.size, self.mtime) = (md5, size, mtime) }
    }

    public static let refFile = ".tarn_ref.yaml"
    public static let indexFile = ".tarn_index"

    /// `lakefs://repo/ref/prefix/` the folder mirrors, and the commit it was last synced to.
    public var source: LakeFSURI
    public var commit: String
    /// Relative path → what was there at the last sync.
    public var files: [String: File]

    public init(source: LakeFSURI, commit: String, files: [String: File] = [:]) {
        (self.source, self.commit, self.files) = (source, commit, files)
    }

    public static func load(_ root: String) throws(ClientError) -> LocalIndex {
        guard let ref = try? String(contentsOfFile: root + "/" + refFile, encoding: .utf8) else {
            throw .usage("\(root) is not a tarn local checkout (no \(refFile)); use `tarn local clone`")
        }
        var src: String?, commit: String?
        for line in ref.split(separator: "\n") {
            let kv = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2 else { continue }
            if kv[0] == "src" { src = kv[1] }
            if kv[0] == "at_head" { commit = kv[1] }
        }
        guard let src, let commit else { throw .local("\(root)/\(refFile) lacks src or at_head") }
        var index = LocalIndex(source: try LakeFSURI(parsing: src), commit: commit)
        let text = (try? String(contentsOfFile: root + "/" + indexFile, encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") {
            let f = line.split(separator: "\t", maxSplits: 3, omittingEmptySubsequences: false)
            guard f.count == 4, let size = Int64(f[1]), let mtime = Int64(f[2]) else { continue }
            index.files[unescape(f[3])] = File(md5: String(f[0]), size: size, mtime: mtime)
        }
        return index
    }

    public func save(_ root: String) throws(ClientError) {
        let ref = "src: \(source)\nat_head: \(commit)\n"
        var lines: [String] = []
        lines.reserveCapacity(files.count)
        for (path, f) in files.sorted(by: { $0.key < $1.key }) { lines.append("\(f.md5)\t\(f.size)\t\(f.mtime)\t\(Self.escape(path))") }
        do {
            try ref.write(toFile: root + "/" + Self.refFile, atomically: true, encoding: .utf8)
            try (lines.joined(separator: "\n") + "\n").write(toFile: root + "/" + Self.indexFile, atomically: true, encoding: .utf8)
        } catch {
            throw .local("cannot write the checkout index in \(root): \(error.localizedDescription)")
        }
    }

    static func escape(_ p: String) -> String {
        p.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "\t", with: "%09").replacingOccurrences(of: "\n", with: "%0A")
    }

    static func unescape(_ p: Substring) -> String {
        p.contains("%") ? (String(p).removingPercentEncoding ?? String(p)) : String(p)
    }

    // MARK: The folder as it is

    public struct Stat: Sendable { public var size: Int64; public var mtime: Int64 }

    /// Regular files under `root` (relative paths), without the checkout's own files and
    /// unfinished downloads: readdir and lstat, no Foundation per file.
    public static func walk(_ root: String) -> [String: Stat] {
        var out: [String: Stat] = [:]
        func visit(_ dir: String, _ prefix: String) {
            guard let d = opendir(dir) else { return }
            defer { closedir(d) }
            let fd = dirfd(d)
            while let e = readdir(d) {
                let name = withUnsafePointer(to: e.pointee.d_name) { $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) } }
                if name == "." || name == ".." { continue }
                if prefix.isEmpty && (name == refFile || name == indexFile) { continue }
                if name.hasSuffix(".tarn-partial") { continue }
                var st = Glibc.stat()
                guard fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
                let rel = prefix + name
                switch st.st_mode & S_IFMT {
                case S_IFDIR: visit(dir + "/" + name, rel + "/")
                case S_IFREG: out[rel] = Stat(size: Int64(st.st_size), mtime: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec))
                default: continue // symlinks, devices: not data
                }
            }
        }
        visit(root, "")
        return out
    }

    public static func stat(_ path: String) -> Stat? {
        var st = Glibc.stat()
        guard lstat(path, &st) == 0 else { return nil }
        return Stat(size: Int64(st.st_size), mtime: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec))
    }

    public enum Change: String, Sendable { case added, modified, removed }

    /// Local changes since the last sync; files whose size and mtime match are not read.
    public func localChanges(_ root: String) -> [(path: String, change: Change)] {
        let now = Self.walk(root)
        var out: [(String, Change)] = []
        for (path, st) in now {
            guard let known = files[path] else { out.append((path, .added)); continue }
            if known.size == st.size && known.mtime == st.mtime { continue }
            if known.size != st.size || APIClient.md5(file: root + "/" + path) != known.md5 { out.append((path, .modified)) }
        }
        for path in files.keys where now[path] == nil { out.append((path, .removed)) }
        return out.sorted { $0.0 < $1.0 }
    }
}
