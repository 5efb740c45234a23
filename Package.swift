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
        .executable(name: "tarn-bench", targets: ["tarn-bench"]),
    ],
    dependencies: [
        // SHA-256 for content addresses: BoringSSL's assembly (SHA-NI) beats anything we would write.
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
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
        // Object bytes: BlockStore protocol and the local file store (MD5 from swift-crypto).
        .target(
            name: "TarnBlock",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")]
        ),
        .executableTarget(name: "tarn-bench", dependencies: ["TarnCore", "TarnMetadata"]),
        // Child process for the crash test: commits in a loop until it is killed.
        .executableTarget(name: "tarn-crash-helper", dependencies: ["TarnCore", "TarnMetadata"]),
        .testTarget(name: "TarnCoreTests", dependencies: ["TarnCore"]),
        .testTarget(name: "TarnBlockTests", dependencies: ["TarnBlock"]),
        .testTarget(
            name: "TarnEngineTests",
            dependencies: ["TarnCore", "TarnMetadata", "tarn-crash-helper"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
