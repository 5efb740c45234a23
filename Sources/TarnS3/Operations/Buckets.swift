import HTTPTypes
import Hummingbird
import TarnCore

/// ListBuckets, HeadBucket, GetBucketLocation, GetBucketVersioning.
extension S3Gateway {
    func listBuckets(_ r: S3Request) throws -> Response {
        var xml = XMLWriter()
        xml.open("ListAllMyBucketsResult")
        xml.text += "<Owner><ID>tarn</ID><DisplayName>tarn</DisplayName></Owner><Buckets>"
        var after = ""
        while true {
            let page = try catalog.engine.listRepositories(after: after, amount: 1000)
            for repo in page.items {
                xml.text += "<Bucket>"
                xml.element("Name", repo.name)
                xml.element("CreationDate", S3Time.iso8601(repo.createdAt))
                xml.text += "</Bucket>"
            }
            guard page.hasMore, let last = page.items.last else { break }
            after = last.name
        }
        xml.text += "</Buckets>"
        xml.close("ListAllMyBucketsResult")
        return xml.response()
    }

    /// Only with the opt-in setting: a repository on `<root><bucket>`, default branch `main`.
    func createBucket(_ bucket: String) throws -> Response {
        guard let root = bucketNamespaceRoot else {
            throw S3Error.notImplemented("creating a bucket over S3 (repositories are made through the API; see s3.create_bucket)")
        }
        if (try? catalog.engine.repository(bucket)) != nil {
            throw S3Error("BucketAlreadyOwnedByYou", .conflict, "Your previous request to create the named bucket succeeded and you already own it.")
        }
        do {
            _ = try catalog.createRepository(name: bucket, storageNamespace: root + bucket, defaultBranch: "main")
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
        xml.text += "<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\(region == "us-east-1" ? "" : XMLWriter.escape(region))</LocationConstraint>"
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
}
