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
