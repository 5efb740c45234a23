import Foundation
import HTTPTypes
import Hummingbird
import TarnCore

/// ListObjects (v1) and ListObjectsV2. Keys are `<ref>/<path>`; while the prefix does not
/// reach past a ref name, the refs listed are the branches (as common prefixes with `/`).
extension S3Gateway {
    struct ListedKey {
        var key: String
        var isPrefix: Bool
        var entry: Entry?
    }

    func listObjects(_ r: S3Request, _ bucket: String) throws -> Response {
        let v2 = r.q("list-type") == "2"
        let prefix = r.q("prefix") ?? ""
        let delimiter = r.q("delimiter") ?? ""
        guard let maxKeys = Int(r.q("max-keys") ?? "1000"), maxKeys >= 0 else {
            throw S3Error.invalidArgument("max-keys must be a non-negative integer")
        }
        let limit = Swift.min(maxKeys, 1000)
        if let encoding = r.q("encoding-type"), encoding != "url" { throw S3Error.invalidArgument("Invalid Encoding Method specified in Request") }
        let urlEncoded = r.q("encoding-type") == "url"
        var after: String
        if v2 {
            if let token = r.q("continuation-token") {
                guard let data = Data(base64Encoded: token) else { throw S3Error.invalidArgument("The continuation token provided is incorrect") }
                after = String(decoding: data, as: UTF8.self)
            } else {
                after = r.q("start-after") ?? ""
            }
        } else {
            after = r.q("marker") ?? ""
        }
        _ = try catalog.engine.repository(bucket)

        var keys: [ListedKey] = []
        var truncated = false
        if limit > 0 {
            (keys, truncated) = try collect(bucket: bucket, prefix: prefix, delimiter: delimiter, after: after, limit: limit)
        }
        func enc(_ s: String) -> String { urlEncoded ? SigV4.uriEncode(s, keepSlash: true) : s }

        var xml = XMLWriter()
        xml.open("ListBucketResult")
        xml.element("Name", bucket)
        // S3 url-encodes the echoed Prefix in v2 only (and botocore decodes it only there).
        xml.element("Prefix", v2 ? enc(prefix) : prefix)
        if v2 {
            if let token = r.q("continuation-token") { xml.element("ContinuationToken", token) }
            if let start = r.q("start-after") { xml.element("StartAfter", enc(start)) }
            xml.element("KeyCount", keys.count)
        } else {
            xml.element("Marker", enc(r.q("marker") ?? ""))
        }
        if !delimiter.isEmpty { xml.element("Delimiter", enc(delimiter)) }
        xml.element("MaxKeys", maxKeys)
        if urlEncoded { xml.element("EncodingType", "url") }
        xml.element("IsTruncated", truncated)
        if truncated, let last = keys.last {
            if v2 {
                xml.element("NextContinuationToken", Data(last.key.utf8).base64EncodedString())
            } else if !delimiter.isEmpty {
                xml.element("NextMarker", enc(last.key))
            }
        }
        let owner = !v2 || r.q("fetch-owner") == "true"
        for k in keys where !k.isPrefix {
            let e = k.entry!
            xml.raw("<Contents>")
            xml.element("Key", enc(k.key))
            xml.element("LastModified", S3Time.iso8601(e.mtime))
            xml.etag(e.checksum)
            xml.element("Size", e.size)
            xml.element("StorageClass", "STANDARD")
            if owner { xml.raw("<Owner><ID>tarn</ID><DisplayName>tarn</DisplayName></Owner>") }
            xml.raw("</Contents>")
        }
        for k in keys where k.isPrefix {
            xml.raw("<CommonPrefixes>")
            xml.element("Prefix", enc(k.key))
            xml.raw("</CommonPrefixes>")
        }
        xml.close("ListBucketResult")
        return xml.response()
    }

    /// Up to `limit` keys (objects and common prefixes) after `after`, in key order, and
    /// whether more follow.
    func collect(bucket: String, prefix: String, delimiter: String, after: String, limit: Int) throws -> ([ListedKey], Bool) {
        // The prefix names one ref: list inside it.
        if let slash = prefix.firstIndex(of: "/") {
            let ref = String(prefix[..<slash])
            return try collect(bucket: bucket, ref: ref, pathPrefix: String(prefix[prefix.index(after: slash)...]),
                               delimiter: delimiter, after: after, limit: limit)
        }
        // Above the refs: the branches whose `name/` matches the prefix, in key order.
        var branches: [String] = []
        var from = ""
        while true {
            let page = try catalog.engine.listBranches(repository: bucket, after: from, amount: 1000)
            branches += page.items.map(\.name).filter { ($0 + "/").hasPrefix(prefix) }
            guard page.hasMore, let last = page.items.last else { break }
            from = last.name
        }
        branches.sort { ($0 + "/") < ($1 + "/") }
        var out: [ListedKey] = []
        for branch in branches {
            let top = branch + "/"
            if delimiter == "/" {
                // Each branch is one common prefix.
                if top > after { out.append(ListedKey(key: top, isPrefix: true)) }
                if out.count > limit { return (Array(out.prefix(limit)), true) }
                continue
            }
            if !after.isEmpty && after >= top && !after.hasPrefix(top) { continue }
            let (rows, more) = try collect(bucket: bucket, ref: branch, pathPrefix: "", delimiter: delimiter,
                                           after: after, limit: limit - out.count)
            out += rows
            if more || out.count >= limit {
                return (out, more || branch != branches.last)
            }
        }
        return (out, false)
    }

    /// Keys under one ref, as `<ref>/<path>`.
    func collect(bucket: String, ref: String, pathPrefix: String, delimiter: String, after: String, limit: Int) throws -> ([ListedKey], Bool) {
        let top = ref + "/"
        var afterPath = ""
        if !after.isEmpty {
            if after.hasPrefix(top) {
                afterPath = String(after.dropFirst(top.count))
            } else if after > top {
                return ([], false)
            }
        }
        let page: Page<ListRow>
        do {
            page = try catalog.engine.listObjects(repository: bucket, ref: ref, prefix: pathPrefix, delimiter: delimiter,
                                                  after: afterPath, amount: limit)
        } catch let e as EngineError {
            switch e {
            case .refNotFound, .branchNotFound, .commitNotFound, .tagNotFound, .invalidName, .ambiguousRef: return ([], false)
            default: throw e
            }
        }
        return (page.items.map { ListedKey(key: top + $0.path, isPrefix: $0.isCommonPrefix, entry: $0.entry) }, page.hasMore)
    }
}

/// ListObjectVersions: Tarn keeps no S3 object versions (its versions are commits), so every
/// current object is listed as its one version, `null`, the latest.
extension S3Gateway {
    func listObjectVersions(_ r: S3Request, _ bucket: String) throws -> Response {
        let prefix = r.q("prefix") ?? ""
        let delimiter = r.q("delimiter") ?? ""
        guard let maxKeys = Int(r.q("max-keys") ?? "1000"), maxKeys >= 0 else { throw S3Error.invalidArgument("max-keys must be a non-negative integer") }
        let keyMarker = r.q("key-marker") ?? ""
        _ = try catalog.engine.repository(bucket)
        let (keys, truncated) = maxKeys == 0 ? ([], false)
            : try collect(bucket: bucket, prefix: prefix, delimiter: delimiter, after: keyMarker, limit: Swift.min(maxKeys, 1000))
        var xml = XMLWriter()
        xml.open("ListVersionsResult")
        xml.element("Name", bucket)
        xml.element("Prefix", prefix)
        xml.element("KeyMarker", keyMarker)
        xml.element("VersionIdMarker", r.q("version-id-marker") ?? "")
        if !delimiter.isEmpty { xml.element("Delimiter", delimiter) }
        xml.element("MaxKeys", maxKeys)
        xml.element("IsTruncated", truncated)
        if truncated, let last = keys.last {
            xml.element("NextKeyMarker", last.key)
            xml.element("NextVersionIdMarker", "null")
        }
        for k in keys where !k.isPrefix {
            let e = k.entry!
            xml.raw("<Version>")
            xml.element("Key", k.key)
            xml.element("VersionId", "null")
            xml.element("IsLatest", true)
            xml.element("LastModified", S3Time.iso8601(e.mtime))
            xml.etag(e.checksum)
            xml.element("Size", e.size)
            xml.element("StorageClass", "STANDARD")
            xml.raw("<Owner><ID>tarn</ID><DisplayName>tarn</DisplayName></Owner></Version>")
        }
        for k in keys where k.isPrefix {
            xml.raw("<CommonPrefixes>")
            xml.element("Prefix", k.key)
            xml.raw("</CommonPrefixes>")
        }
        xml.close("ListVersionsResult")
        return xml.response()
    }
}
