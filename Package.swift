// swift-tools-version:6.0
import PackageDescription

// Dependencies point down the table in ../shared/ARCHITECTURE.md:
// TarnCore (pure Swift + Crypto) <- TarnMetadata (SQLite), TarnBlock (object bytes) <- executables and tests.
let package = Package(
    name: "Tarn",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "TarnCore", targets: ["TarnCore"]),
        .library(name: "TarnMetadata", targets: ["TarnMetadata"]),
        .library(name: "TarnBlock", targets: ["TarnBlock"]),
        .executable(name: "tarn", targets: ["tarn"]),
        .executable(name: "tarn-bench", targets: ["tarn-bench"]),
    ],
    dependencies: [
        // SHA-256 for content addresses: BoringSSL's assembly (SHA-NI) beats anything we would write.
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        // HTTP server for the REST API and the S3 gateway.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        // `tarn` command line.
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        // The CLI's HTTP client: TLS, connection pooling and streamed bodies (already in the
        // graph through Hummingbird's test support).
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        // The optional YAML configuration file: a full YAML parser (libyaml), which a hand-written
        // subset would only approximate.
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        // Already under Hummingbird: HTTPResponsePart, to send S3 clients their `100 Continue`.
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        // Already under Hummingbird: NIOThreadPool for blocking work (TarnBlock.BlockingPool).
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        // Metrics API (counters, meters, timers) and its Prometheus backend for GET /metrics.
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // Already under Hummingbird; named so the server can order its graceful shutdown.
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        .target(
            name: "TarnCore",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")]
        ),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .target(
            name: "TarnMetadata",
            dependencies: ["TarnCore", "CSQLite"],
            resources: [.embedInCode("Migrations")]
        ),
        // Linux calls Glibc's module leaves out (sync_file_range, copy_file_range).
        .target(name: "CLinuxShims"),
        // libcurl for `s3://` namespaces: HTTP/1.1 keep-alive, TLS through OpenSSL, streamed
        // bodies through callbacks; the system library every S3 tool on the host already trusts.
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        // Object bytes: BlockStore protocol, the local file store and the S3 store (MD5 from swift-crypto).
        .target(
            name: "TarnBlock",
            dependencies: ["TarnCore", "CLinuxShims", "CCurl", .product(name: "Crypto", package: "swift-crypto"), .product(name: "NIOPosix", package: "swift-nio"),
                           .product(name: "NIOCore", package: "swift-nio")]
        ),
        // Users, access keys (secrets sealed with AES-GCM), request authentication.
        .target(
            name: "TarnAuth",
            dependencies: ["TarnCore", "TarnMetadata", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // Use cases over the engine and the block stores; what every wire module talks to.
        .target(name: "TarnCatalog", dependencies: ["TarnCore", "TarnMetadata", "TarnBlock", "TarnLineage", .product(name: "Crypto", package: "swift-crypto"),
                                                    .product(name: "Metrics", package: "swift-metrics")]),
        // Action files and the hooks they run (webhook over AsyncHTTPClient, exec as a child
        // process); the catalog calls it through TarnCore's HookRunner protocol.
        .target(
            name: "TarnActions",
            dependencies: ["TarnCore", .product(name: "Yams", package: "Yams"), .product(name: "AsyncHTTPClient", package: "async-http-client"),
                           .product(name: "NIOCore", package: "swift-nio")]
        ),
        // Lineage: runs with pinned inputs, outputs, provenance and impact over the immutable
        // trees, OpenLineage export (pushed with AsyncHTTPClient).
        .target(
            name: "TarnLineage",
            dependencies: ["TarnCore", "TarnMetadata", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                           .product(name: "NIOCore", package: "swift-nio")]
        ),
        // The lakeFS-compatible REST API (/api/v1): handlers, JSON models, error mapping.
        .target(
            name: "TarnAPI",
            dependencies: ["TarnCatalog", "TarnAuth", "TarnLineage", .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "HTTPTypes", package: "swift-http-types"),
                           .product(name: "NIOCore", package: "swift-nio")]
        ),
        // The S3 gateway: routing, SigV4, one file per S3 operation, S3 XML and error codes.
        .target(
            name: "TarnS3",
            dependencies: ["TarnCatalog", "TarnAuth", "TarnBlock", "TarnCore", .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "Crypto", package: "swift-crypto"), .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "HTTPTypes", package: "swift-http-types"),
                           .product(name: "NIOHTTPTypes", package: "swift-nio-extras")]
        ),
        // Wiring: configuration, listeners, lifecycle.
        .target(
            name: "TarnServer",
            dependencies: ["TarnAPI", "TarnS3", "TarnCatalog", "TarnActions", "TarnLineage", "TarnAuth", "TarnBlock", "CLinuxShims",
                           .product(name: "Hummingbird", package: "hummingbird"), .product(name: "HummingbirdCore", package: "hummingbird"),
                           .product(name: "Logging", package: "swift-log"), .product(name: "HTTPTypes", package: "swift-http-types"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                           .product(name: "Yams", package: "Yams"), .product(name: "Prometheus", package: "swift-prometheus"),
                           .product(name: "Metrics", package: "swift-metrics"), .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOHTTPTypes", package: "swift-nio-extras")]
        ),
        // The REST API's client side: configuration, lakefs:// URIs, calls and transfers (the CLI).
        .target(
            name: "TarnClient",
            dependencies: ["TarnCore", .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "Yams", package: "Yams"),
                           .product(name: "NIOCore", package: "swift-nio"), .product(name: "Crypto", package: "swift-crypto")]
        ),
        .executableTarget(
            name: "tarn",
            dependencies: ["TarnServer", "TarnClient", "TarnActions", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(name: "tarn-bench", dependencies: ["TarnCore", "TarnMetadata", "TarnClient", .product(name: "Crypto", package: "swift-crypto")]),
        // Child process for the crash test: commits in a loop until it is killed.
        .executableTarget(name: "tarn-crash-helper", dependencies: ["TarnCore", "TarnMetadata"]),
        .testTarget(name: "TarnCoreTests", dependencies: ["TarnCore", .product(name: "Crypto", package: "swift-crypto")]),
        // The S3 store is tested against a second Tarn (its S3 gateway) started as a child process.
        .testTarget(name: "TarnBlockTests", dependencies: ["TarnBlock", "tarn", .product(name: "NIOCore", package: "swift-nio"),
                                                      .product(name: "NIOPosix", package: "swift-nio")]),
        .testTarget(name: "TarnClientTests", dependencies: ["TarnClient"]),
        .testTarget(name: "TarnActionsTests", dependencies: ["TarnActions"]),
        .testTarget(name: "TarnLineageTests", dependencies: ["TarnLineage"]),
        .testTarget(name: "TarnS3Tests", dependencies: ["TarnS3", .product(name: "Hummingbird", package: "hummingbird"),
                                                        .product(name: "HTTPTypes", package: "swift-http-types")]),
        .testTarget(
            name: "TarnAPITests",
            // `tarn` too, so that the one `swift test` build also builds the binary the
            // integration tests (Tests/integration) start.
            dependencies: ["TarnServer", "TarnAPI", "TarnCatalog", "tarn", .product(name: "HummingbirdTesting", package: "hummingbird"),
                           .product(name: "HTTPTypes", package: "swift-http-types"),
                           // NIO's own HTTP/1 decoder and encoder, which HTTP1WireTests hold the raw read path to.
                           .product(name: "NIOEmbedded", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
                           .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras")]
        ),
        .testTarget(
            name: "TarnEngineTests",
            dependencies: ["TarnCore", "TarnMetadata", "tarn-crash-helper"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
