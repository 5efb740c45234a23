import Hummingbird
import TarnCatalog

/// `GET /healthcheck`, `GET /config`, `/config/version`, `/config/storage`.
enum HealthAndConfig {
    /// The lakeFS release whose API this server speaks. Clients read it as `X.Y.Z` numbers and
    /// gate features on it (lakefs-spec needs at least 1.3.1), so it is a lakeFS version, not
    /// Tarn's own.
    static let version = "1.50.0"

    struct VersionConfig: Codable, ResponseEncodable {
        var version = HealthAndConfig.version
        var version_context = "lakeFS"
        var latest_version = HealthAndConfig.version
        var upgrade_recommended = false
        var upgrade_url = ""
    }

    /// What a local-blockstore lakeFS reports (wire contract §1.4), import aside.
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

    struct SetupState: Codable, ResponseEncodable {
        var state = "initialized"
        var comm_prefs_missing = false
        var login_config = LoginConfig()
    }

    /// How the web UI would log in: with access keys, against this server.
    struct LoginConfig: Codable {
        var RBAC = "none"
        var login_url = "/auth/login"
        var login_failed_message = "The credentials don't match."
        var logout_url = "/logout"
        var login_cookie_names = ["internal_auth_session"]
    }

    /// The endpoints that need no credentials. The setup state is always "initialized": the
    /// server creates its admin key itself on first start.
    static func registerHealth<Context: RequestContext>(_ api: RouterGroup<Context>) {
        api.get("healthcheck") { _, _ in HTTPResponse.Status.noContent }
        api.get("setup_lakefs") { _, _ in SetupState() }
    }

    static func register<Context: RequestContext>(_ api: RouterGroup<Context>, catalog: Catalog) {
        // Imports read s3:// locations through the server's S3 backend, so they are offered
        // only when it has one.
        let storage = catalog.blocks.s3 == nil ? StorageConfig()
            : StorageConfig(import_support: true, import_validity_regex: "^s3://")
        api.get("config") { _, _ in Config(storage_config: storage) }
        api.get("config/version") { _, _ in VersionConfig() }
        api.get("config/storage") { _, _ in storage }
    }
}
