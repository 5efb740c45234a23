import Foundation
import HTTPTypes
import Hummingbird
import TarnAuth
import TarnBlock
import TarnCatalog
import TarnCore

/// An S3 error: the code clients branch on, its HTTP status and a message. Every typed error
/// of the layers below becomes one of these here, and only here.
public struct S3Error: Error, Sendable {
    public var code: String
    public var status: HTTPResponse.Status
    public var message: String
    public var resource: String = ""

    public init(_ code: String, _ status: HTTPResponse.Status, _ message: String) {
        self.code = code
        self.status = status
        self.message = message
    }

    static func noSuchBucket(_ b: String) -> S3Error { S3Error("NoSuchBucket", .notFound, "The specified bucket does not exist: \(b)") }
    static func noSuchKey(_ k: String) -> S3Error { S3Error("NoSuchKey", .notFound, "The specified key does not exist: \(k)") }
    static func notImplemented(_ what: String) -> S3Error { S3Error("NotImplemented", .notImplemented, "\(what) is not implemented") }
    static func invalidArgument(_ m: String) -> S3Error { S3Error("InvalidArgument", .badRequest, m) }
    static func preconditionFailed(_ m: String = "At least one of the preconditions you specified did not hold") -> S3Error {
        S3Error("PreconditionFailed", .preconditionFailed, m)
    }
    static func invalidPartNumber() -> S3Error { S3Error("InvalidPart", .badRequest, "The requested partnumber is not satisfiable") }
    static func badDigest(_ m: String) -> S3Error { S3Error("BadDigest", .badRequest, m) }
    static func invalidRange(size: Int64) -> S3Error { S3Error("InvalidRange", .rangeNotSatisfiable, "The requested range is not satisfiable (object size \(size))") }
    static func malformedXML(_ m: String = "The XML you provided was not well-formed or did not validate against our published schema") -> S3Error {
        S3Error("MalformedXML", .badRequest, m)
    }
    static let accessDenied = S3Error("AccessDenied", .forbidden, "Access Denied")

    /// The one table from typed errors to S3 errors.
    static func from(_ error: any Error) -> S3Error {
        switch error {
        case let e as S3Error: return e
        case let e as S3AuthError:
            switch e {
            case .missing: return S3Error("AccessDenied", .forbidden, "Request is not signed")
            case let .malformed(m): return S3Error("AuthorizationHeaderMalformed", .badRequest, m)
            case let .unsupportedAlgorithm(a): return S3Error("InvalidArgument", .badRequest, "Unsupported signature algorithm \(a)")
            case let .invalidAccessKeyID(k):
                return S3Error("InvalidAccessKeyId", .forbidden, "The AWS Access Key Id you provided does not exist in our records: \(k)")
            case .signatureDoesNotMatch:
                return S3Error("SignatureDoesNotMatch", .forbidden,
                               "The request signature we calculated does not match the signature you provided")
            case .requestTimeTooSkewed:
                return S3Error("RequestTimeTooSkewed", .forbidden, "The difference between the request time and the current time is too large")
            case .expired: return S3Error("AccessDenied", .forbidden, "Request has expired")
            }
        case let e as EngineError:
            switch e {
            case .repositoryNotFound(let r): return .noSuchBucket(r)
            case .branchNotFound(let b): return S3Error("NoSuchBucket", .notFound, "The specified branch does not exist: \(b)")
            case .objectNotFound(let p): return .noSuchKey(p)
            case .refNotFound, .commitNotFound, .tagNotFound: return S3Error("NoSuchKey", .notFound, e.description)
            case .protectedBranch, .notAllowed: return S3Error("AccessDenied", .forbidden, e.description)
            case .invalidName, .invalidArgument, .ambiguousRef: return .invalidArgument(e.description)
            case .preconditionFailed, .hookAborted: return .preconditionFailed(e.description)
            case .alreadyExists: return S3Error("BucketAlreadyExists", .conflict, e.description)
            case .namespaceInUse, .dirtyBranch, .noChanges, .conflict: return S3Error("InvalidRequest", .badRequest, e.description)
            case .concurrentUpdate: return S3Error("SlowDown", .serviceUnavailable, e.description)
            case .corrupt, .storage: return S3Error("InternalError", .internalServerError, e.description)
            }
        case let e as MultipartError:
            switch e {
            case let .noSuchUpload(id):
                return S3Error("NoSuchUpload", .notFound, "The specified multipart upload does not exist: \(id)")
            case let .invalidPart(n):
                return S3Error("InvalidPart", .badRequest, "Part \(n) could not be found or its ETag does not match")
            case .invalidPartOrder: return S3Error("InvalidPartOrder", .badRequest, "The list of parts was not in ascending order")
            case let .entityTooSmall(n):
                return S3Error("EntityTooSmall", .badRequest, "Part \(n) is smaller than the minimum allowed object size (5 MiB)")
            case .noParts: return .malformedXML("The XML you provided lists no parts")
            }
        case let e as BlockStoreError:
            switch e {
            case .invalidPath, .unsupportedNamespace: return .invalidArgument(e.description)
            case .notFound: return S3Error("NoSuchKey", .notFound, "The object's data is gone: \(e.description)")
            case .invalidRange: return S3Error("InvalidRange", .rangeNotSatisfiable, e.description)
            case .incompleteBody: return S3Error("IncompleteBody", .badRequest, "You did not provide the number of bytes specified by the Content-Length HTTP header")
            case .io: return S3Error("InternalError", .internalServerError, e.description)
            case .unavailable: return S3Error("ServiceUnavailable", .serviceUnavailable, e.description)
            case .backend: return S3Error("BadGateway", .badGateway, e.description)
            case .namespaceRefused: return .invalidArgument(e.description)
            }
        default:
            return S3Error("InternalError", .internalServerError, String(describing: error))
        }
    }

    /// `<Error><Code/><Message/><Resource/><RequestId/></Error>`; HEAD answers carry no body.
    func response(for request: Request, requestID: String) -> Response {
        var headers: HTTPFields = [.contentType: "application/xml", HTTPField.Name("x-amz-request-id")!: requestID]
        if request.method == .head {
            headers[.contentLength] = "0"
            return Response(status: status, headers: headers)
        }
        var xml = XMLWriter()
        xml.open("Error", namespace: false)
        xml.element("Code", code)
        xml.element("Message", message)
        xml.element("Resource", resource.isEmpty ? request.uri.path : resource)
        xml.element("RequestId", requestID)
        xml.close("Error")
        return xml.response(status: status, headers: headers)
    }
}
