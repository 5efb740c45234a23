import Crypto
import Foundation

/// AWS Signature Version 2 (HMAC-SHA1), still what boto3's `generate_presigned_url` makes by
/// default for S3. The resource is the path as sent on the wire (encoded), plus the
/// sub-resources S3 signs.
public enum SigV2 {
    /// Query parameters that are part of the signed resource (S3's list), in sorted order.
    static let subresources: Set<String> = [
        "acl", "cors", "delete", "lifecycle", "location", "logging", "notification", "partNumber", "policy", "requestPayment",
        "restore", "tagging", "torrent", "uploadId", "uploads", "versionId", "versioning", "versions", "website",
        "response-cache-control", "response-content-disposition", "response-content-encoding", "response-content-language",
        "response-content-type", "response-expires",
    ]

    /// The string to sign. `dateOrExpires` is the Date header (header auth) or the `Expires`
    /// value (query auth); `headers` lower-cased; `rawPath` as on the wire.
    public static func stringToSign(method: String, rawPath: String, query: [(name: String, value: String)],
                                    headers: [String: String], dateOrExpires: String) -> String {
        var amz = headers.filter { $0.key.hasPrefix("x-amz-") }.map { "\($0.key):\($0.value.trimmingCharacters(in: .whitespaces))\n" }
        amz.sort()
        var resource = rawPath
        let sub = query.filter { subresources.contains($0.name) }.sorted { $0.name < $1.name }
        if !sub.isEmpty {
            resource += "?" + sub.map { $0.value.isEmpty ? $0.name : "\($0.name)=\($0.value)" }.joined(separator: "&")
        }
        return [method, headers["content-md5"] ?? "", headers["content-type"] ?? "", dateOrExpires].joined(separator: "\n")
            + "\n" + amz.joined() + resource
    }

    public static func signature(_ stringToSign: String, secret: String) -> String {
        Data(HMAC<Insecure.SHA1>.authenticationCode(for: Array(stringToSign.utf8), using: SymmetricKey(data: Array(secret.utf8))))
            .base64EncodedString()
    }
}
