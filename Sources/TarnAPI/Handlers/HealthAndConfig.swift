import Hummingbird

/// `GET /healthcheck`, `GET /config`, `/config/version`, `/config/storage`.
enum HealthAndConfig {
    static let version = "0.1.0"

    struct VersionConfig: Codable, ResponseEncodable {
        var version = HealthAndConfig.version
        var version_context = "lakeFS"
        var latest_version = HealthAndConfig.version
        var upgrade_recommended = false
        var upgrade_url = ""
    }

    /// What a local-blockstore lakeFS reports (wire contract §1.4).
    struct StorageConfig: Codable, ResponseEncodable {
        var blockstore_type = "local"
        var blockstore_namespace_example = "local://example-bucket/"
        var blockstore_namespace_ValidityRegex = "^local://"
        var default_namespace_prefix = "local://"
        var pre_sign_support = false
        var pre_sign_support_ui = false
        var import_support = false
        var import_validity_regex = "^local://"
        var pre_sign_multipart_upload = false
        var blockstore_id = ""
    }

    struct Config: Codable, ResponseEncodable {
        var version_config = VersionConfig()
        var storage_config = StorageConfig()
        var storage_config_list: [StorageConfig] = []
    }

    /// The one endpoint that needs no credentials.
    static func registerHealth<Context: RequestContext>(_ api: RouterGroup<Context>) {
        api.get("healthcheck") { _, _ in HTTPResponse.Status.noContent }
    }

    static func register<Context: RequestContext>(_ api: RouterGroup<Context>) {
        api.get("config") { _, _ in Config() }
        api.get("config/version") { _, _ in VersionConfig() }
        api.get("config/storage") { _, _ in StorageConfig() }
    }
}
