import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTPTypes
import TarnAuth
import TarnCatalog
import TarnCore

/// The S3 endpoint: bucket = repository, key = `<ref>/<path>`. It shares the server's port
/// with the REST API; `claims(_:)` decides which one a request is for (as lakeFS: an AWS
/// signature, or a Host under the S3 domain). Every answer, errors included, is S3's: this
/// type never throws to the HTTP layer.
public struct S3Gateway: Sendable {
    let catalog: Catalog
    let authenticator: Authenticator
    /// Virtual-host style base domain (`<bucket>.<domain>`); nil for path style only.
    let domain: String?
    let region: String
    /// When set, CreateBucket/DeleteBucket make and delete repositories, namespaced here.
    let bucketNamespaceRoot: String?

    public init(catalog: Catalog, authenticator: Authenticator, domain: String? = nil, region: String = "us-east-1",
                bucketNamespaceRoot: String? = nil) {
        self.catalog = catalog
        self.authenticator = authenticator
        self.domain = domain
        self.region = region
        self.bucketNamespaceRoot = bucketNamespaceRoot
    }

    /// True when the request is S3's: anything outside the REST API's own paths (`/api/…`,
    /// `/metrics`) — anonymous S3 requests too, so they get S3 answers — and, inside them, a
    /// SigV4/SigV2 signature in a header or the query, an `x-amz-content-sha256` header, or a
    /// Host under the S3 domain.
    public func claims(_ request: Request) -> Bool {
        let path = request.uri.path
        if !(path.hasPrefix("/api/") || path == "/api" || path == "/metrics") { return true }
        if let auth = request.headers[.authorization], auth.hasPrefix("AWS4-") || auth.hasPrefix("AWS ") { return true }
        if request.headers[HTTPField.Name("x-amz-content-sha256")!] != nil { return true }
        if let query = request.uri.query,
           query.contains("X-Amz-Credential=") || query.contains("X-Amz-Signature=") || query.contains("AWSAccessKeyId=") {
            return true
        }
        if let domain, let host = request.headers[HTTPField.Name("host")!] ?? request.head.authority {
            let name = S3Request.hostName(host)
            return name == domain || S3Request.subdomain(of: name, domain) != nil
        }
        return false
    }

    public func respond(to request: Request, channel: any Channel, requestID: String, logger: Logger) async -> Response {
        // boto3 and the aws CLI send `Expect: 100-continue` with every upload and wait a second
        // for the go-ahead before sending the body anyway. Say it at once: also before an
        // early refusal, so the connection stays in step (the server drains the body after
        // the answer).
        if request.headers[.expect]?.lowercased() == "100-continue" {
            try? await channel.writeAndFlush(HTTPResponsePart.head(HTTPResponse(status: .continue)))
        }
        var s3 = S3Request(request, domain: domain)
        s3.eventLoop = channel.eventLoop
        do {
            let principal = try authenticate(s3)
            var response = try await dispatch(s3, principal)
            response.headers[HTTPField.Name("x-amz-request-id")!] = requestID
            return response
        } catch S3AuthError.missing where s3.bucket != nil && (try? catalog.engine.repository(s3.bucket!)) == nil {
            // As S3: a bucket that does not exist is that, even to an anonymous caller.
            return S3Error.noSuchBucket(s3.bucket!).response(for: request, requestID: requestID)
        } catch {
            let e = S3Error.from(error)
            if e.status == .internalServerError { logger.error("s3 failure", metadata: ["error": .string("\(error)")]) }
            return e.response(for: request, requestID: requestID)
        }
    }

    /// SigV2 (header `AWS …` or `AWSAccessKeyId` in the query) or SigV4.
    func authenticate(_ r: S3Request) throws -> S3Principal {
        if r.headers["authorization"]?.hasPrefix("AWS ") == true || (r.headers["authorization"] == nil && r.has("AWSAccessKeyId")) {
            return try authenticator.verifySigV2(r.sigV4, rawPath: r.http.uri.path)
        }
        return try authenticator.verifySigV4(r.sigV4)
    }

    /// S3 operations are told apart by level (service, bucket, object), method and query flags.
    func dispatch(_ r: S3Request, _ principal: S3Principal) async throws -> Response {
        let method = r.http.method
        guard let bucket = r.bucket else {
            guard method == .get else { throw S3Error.notImplemented("\(method) on the service") }
            return try listBuckets(r)
        }
        guard r.key != nil else {
            switch method {
            case .head: return try headBucket(bucket)
            case .get:
                if r.has("location") { return try getBucketLocation(bucket) }
                if r.has("versioning") { return try getBucketVersioning(bucket) }
                if r.has("uploads") { return try listMultipartUploads(r, bucket) }
                if r.has("versions") { return try listObjectVersions(r, bucket) }
                if r.has("acl") {
                    _ = try catalog.engine.repository(bucket)
                    return Self.fixedACL()
                }
                if r.has("tagging") || r.has("policy")
                    || r.has("lifecycle") || r.has("cors") || r.has("website") || r.has("logging") || r.has("notification")
                    || r.has("encryption") || r.has("object-lock") || r.has("replication") || r.has("ownershipControls") {
                    throw S3Error.notImplemented("this bucket subresource")
                }
                return try listObjects(r, bucket)
            case .post:
                if r.has("delete") { return try await deleteObjects(r, bucket, principal) }
                throw S3Error.notImplemented("POST on a bucket")
            case .put:
                if r.query.isEmpty || r.has("x-id") { return try await createBucket(bucket) }
                throw S3Error.notImplemented("this bucket configuration")
            case .delete:
                if r.query.isEmpty || r.has("x-id") { return try deleteBucket(bucket) }
                throw S3Error.notImplemented("this bucket configuration")
            default:
                throw S3Error("MethodNotAllowed", .methodNotAllowed, "\(method) is not allowed on a bucket")
            }
        }
        if r.has("acl") && method == .get {
            _ = try lookup(r, bucket)
            return Self.fixedACL()
        }
        if r.has("tagging") || r.has("acl") || r.has("retention") || r.has("legal-hold") || r.has("torrent")
            || r.has("select") || r.has("restore") {
            throw S3Error.notImplemented("this object subresource or operation")
        }
        if r.has("uploadId") {
            switch method {
            case .put: return try await uploadPart(r, bucket, principal)
            case .post: return try await completeMultipartUpload(r, bucket)
            case .delete: return try await abortMultipartUpload(r, bucket)
            case .get: return try listParts(r, bucket)
            default: throw S3Error("MethodNotAllowed", .methodNotAllowed, "\(method) is not allowed on an upload")
            }
        }
        if method == .post {
            guard r.has("uploads") else { throw S3Error.notImplemented("POST on an object without ?uploads") }
            return try createMultipartUpload(r, bucket)
        }
        if method == .get && r.has("attributes") { return try getObjectAttributes(r, bucket) }
        switch method {
        case .get: return try await getObject(r, bucket, head: false)
        case .head: return try await getObject(r, bucket, head: true)
        case .put:
            if r.headers["x-amz-copy-source"] != nil { return try await copyObject(r, bucket) }
            return try await putObject(r, bucket, principal)
        case .delete: return try deleteObject(r, bucket)
        default: throw S3Error("MethodNotAllowed", .methodNotAllowed, "\(method) is not allowed on an object")
        }
    }
}
