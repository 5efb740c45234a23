import Foundation

/// Where and how Tarn reaches the S3 service that holds `s3://` namespaces: lakeFS's
/// `blockstore.s3.*` settings, with the standard `AWS_*` variables and `~/.aws/credentials`
/// as fallbacks (resolved by the server's configuration, not here).
public struct S3Settings: Sendable, Equatable {
    /// `http(s)://host[:port]`; nil means AWS itself (`https://s3.<region>.amazonaws.com`).
    public var endpoint: String?
    public var region: String
    /// `endpoint/bucket/key` rather than `bucket.endpoint/key`.
    public var forcePathStyle: Bool
    public var accessKeyID: String
    public var secretAccessKey: String
    /// Size of the parts a large PUT is split into on the backend (S3 wants ≥ 5 MiB).
    public var partSize: Int64
    public var connectTimeout: Double
    /// A transfer that moves no byte for this long is abandoned (a stall, not a slow link).
    public var stallTimeout: Double
    /// Retries of an idempotent request after a connection error, 500, 503 or SlowDown.
    public var maxRetries: Int

    public init(endpoint: String? = nil, region: String = "us-east-1", forcePathStyle: Bool = false,
                accessKeyID: String = "", secretAccessKey: String = "", partSize: Int64 = 64 << 20,
                connectTimeout: Double = 10, stallTimeout: Double = 60, maxRetries: Int = 5) {
        self.endpoint = endpoint
        self.region = region
        self.forcePathStyle = forcePathStyle
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.partSize = partSize
        self.connectTimeout = connectTimeout
        self.stallTimeout = stallTimeout
        self.maxRetries = maxRetries
    }

    /// The base URL and whether buckets go in the path.
    var base: (url: String, pathStyle: Bool) {
        var url = endpoint ?? "https://s3.\(region).amazonaws.com"
        while url.hasSuffix("/") { url.removeLast() }
        return (url, forcePathStyle || endpoint != nil && Self.isIPOrLocal(url))
    }

    /// Virtual-host addressing needs DNS for `bucket.host`: an IP or localhost endpoint cannot
    /// have it, so those always use path style (as the AWS SDKs do).
    static func isIPOrLocal(_ url: String) -> Bool {
        guard let host = URLComponents(string: url)?.host else { return true }
        return host == "localhost" || host.allSatisfy { $0.isNumber || $0 == "." } || host.contains(":")
    }
}

/// `s3://bucket/prefix` split into its parts.
struct S3Location: Equatable {
    var bucket: String
    /// The key prefix, without leading or trailing slashes ("" for the bucket's root).
    var prefix: String

    init(bucket: String, prefix: String) {
        self.bucket = bucket
        self.prefix = prefix
    }

    init(_ uri: String) throws {
        guard uri.hasPrefix("s3://") else { throw BlockStoreError.unsupportedNamespace(uri) }
        let rest = uri.dropFirst(5)
        let bucket = rest.prefix { $0 != "/" }
        guard Self.validBucket(bucket) else { throw BlockStoreError.invalidPath(uri) }
        var prefix = rest.dropFirst(bucket.count)
        while prefix.hasPrefix("/") { prefix.removeFirst() }
        while prefix.hasSuffix("/") { prefix.removeLast() }
        guard !prefix.split(separator: "/", omittingEmptySubsequences: false).contains(where: { $0.isEmpty || $0 == ".." }) || prefix.isEmpty else {
            throw BlockStoreError.invalidPath(uri)
        }
        self.bucket = String(bucket)
        self.prefix = String(prefix)
    }

    /// S3's bucket naming rules: 3–63 of `a-z 0-9 . -`, starting and ending with a letter or digit.
    static func validBucket(_ name: Substring) -> Bool {
        guard (3...63).contains(name.count), let f = name.first, let l = name.last,
              f.isLetter || f.isNumber, l.isLetter || l.isNumber else { return false }
        return name.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "." || $0 == "-" }
    }

    /// The key of `address` (relative to this prefix).
    func key(_ address: String) -> String { prefix.isEmpty ? address : prefix + "/" + address }
}
