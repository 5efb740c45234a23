import Foundation
import HTTPTypes
import Hummingbird
import TarnCore

/// ListBuckets, HeadBucket, GetBucketLocation, GetBucketVersioning.
extension S3Gateway {
    /// All repositories, or pages of `max-buckets` with a continuation token.
    func listBuckets(_ r: S3Request) throws -> Response {
        let pageSize = r.q("max-buckets").flatMap { Int($0) }
        if let pageSize, !(1...10_000).contains(pageSize) { throw S3Error.invalidArgument("max-buckets must be between 1 and 10000") }
        var after = r.q("continuation-token").flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) } ?? ""
        let prefix = r.q("prefix") ?? ""
        var repos: [Repository] = []
        var more = false
        while true {
            let page = try catalog.engine.listRepositories(prefix: prefix, after: after, amount: 1000)
            repos += page.items
            if let pageSize, repos.count > pageSize { repos = Array(repos.prefix(pageSize)); more = true; break }
            guard page.hasMore, let last = page.items.last else { break }
            after = last.name
        }
        var xml = XMLWriter()
        xml.open("ListAllMyBucketsResult")
        xml.raw("<Owner><ID>tarn</ID><DisplayName>tarn</DisplayName></Owner><Buckets>")
        for repo in repos {
            xml.raw("<Bucket>")
            xml.element("Name", repo.name)
            xml.element("CreationDate", S3Time.iso8601(repo.createdAt))
            xml.raw("</Bucket>")
        }
        xml.raw("</Buckets>")
        if more, let last = repos.last { xml.element("ContinuationToken", Data(last.name.utf8).base64EncodedString()) }
        if !prefix.isEmpty { xml.element("Prefix", prefix) }
        xml.close("ListAllMyBucketsResult")
        return xml.response()
    }

    /// Only with the opt-in setting: a repository on `<root><bucket>`, default branch `main`.
    func createBucket(_ bucket: String) async throws -> Response {
        guard let root = bucketNamespaceRoot else {
            throw S3Error.notImplemented("creating a bucket over S3 (repositories are made through the API; see s3.create_bucket)")
        }
        if (try? catalog.engine.repository(bucket)) != nil {
            throw S3Error("BucketAlreadyOwnedByYou", .conflict, "Your previous request to create the named bucket succeeded and you already own it.")
        }
        do {
            _ = try await catalog.createRepository(name: bucket, storageNamespace: root + bucket, defaultBranch: "main")
        } catch EngineError.invalidName {
            throw S3Error("InvalidBucketName", .badRequest, "The specified bucket is not valid: \(bucket)")
        }
        return Response(status: .ok, headers: [.location: "/\(bucket)", .contentLength: "0"])
    }

    /// Only with the opt-in setting, and only when no branch holds an object (as S3: BucketNotEmpty).
    func deleteBucket(_ bucket: String) throws -> Response {
        guard bucketNamespaceRoot != nil else {
            throw S3Error.notImplemented("deleting a bucket over S3 (repositories are deleted through the API; see s3.create_bucket)")
        }
        _ = try catalog.engine.repository(bucket)
        let (keys, _) = try collect(bucket: bucket, prefix: "", delimiter: "", after: "", limit: 1)
        guard keys.isEmpty else { throw S3Error("BucketNotEmpty", .conflict, "The bucket you tried to delete is not empty") }
        try catalog.engine.deleteRepository(bucket)
        return Response(status: .noContent)
    }

    func headBucket(_ bucket: String) throws -> Response {
        _ = try catalog.engine.repository(bucket)
        return Response(status: .ok, headers: [HTTPField.Name("x-amz-bucket-region")!: region, .contentLength: "0"])
    }

    func getBucketLocation(_ bucket: String) throws -> Response {
        _ = try catalog.engine.repository(bucket)
        var xml = XMLWriter()
        // us-east-1 is spelled as an empty constraint.
        xml.raw("<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\(region == "us-east-1" ? "" : XMLWriter.escape(region))</LocationConstraint>")
        return xml.response()
    }

    /// Branches and commits are Tarn's versions; S3 object versioning is not offered.
    func getBucketVersioning(_ bucket: String) throws -> Response {
        _ = try catalog.engine.repository(bucket)
        var xml = XMLWriter()
        xml.open("VersioningConfiguration")
        xml.close("VersioningConfiguration")
        return xml.response()
    }

    /// GetBucketAcl / GetObjectAcl: Tarn has no per-object or per-bucket ACLs (every access
    /// key may do everything), so the answer is the one that is true: the owner, with full
    /// control. Setting an ACL stays NotImplemented.
    static func fixedACL() -> Response {
        var xml = XMLWriter()
        xml.open("AccessControlPolicy")
        xml.raw("<Owner><ID>tarn</ID><DisplayName>tarn</DisplayName></Owner><AccessControlList><Grant>")
        xml.raw("<Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"CanonicalUser\"><ID>tarn</ID><DisplayName>tarn</DisplayName></Grantee>")
        xml.raw("<Permission>FULL_CONTROL</Permission></Grant></AccessControlList>")
        xml.close("AccessControlPolicy")
        return xml.response()
    }
}
