import Foundation
import Testing
import TarnServer

@Suite struct ConfigurationTests {
    func file(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tarn-config-\(UUID().uuidString).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func flagsWinOverEnvironmentOverFile() throws {
        let path = try file("""
            # every layer sets the listen address
            listen_address: 127.0.0.1:9001
            data_dir: /tmp/from-file
            database:
              url: sqlite:///tmp/db-from-file/tarn.sqlite
            logging:
              level: debug
            """)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let fileOnly = try ServerConfiguration.resolve(flags: [:], environment: [:], configFile: path)
        #expect(fileOnly.port == 9001 && fileOnly.host == "127.0.0.1")
        #expect(fileOnly.databasePath == "/tmp/db-from-file/tarn.sqlite")
        #expect(fileOnly.objectStoreRoot.path == "/tmp/from-file/objects")
        #expect(fileOnly.logLevel == "debug")

        let env = ["TARN_LISTEN_ADDRESS": "127.0.0.1:9002", "TARN_BLOCKSTORE_LOCAL_PATH": "/tmp/objects-from-env", "TARN_CONFIG": path]
        let withEnv = try ServerConfiguration.resolve(flags: [:], environment: env, configFile: nil)
        #expect(withEnv.port == 9002)
        #expect(withEnv.objectStoreRoot.path == "/tmp/objects-from-env")
        #expect(withEnv.dataDirectory.path == "/tmp/from-file")

        let withFlags = try ServerConfiguration.resolve(flags: ["listen_address": "0.0.0.0:9003", "logging.level": "error"],
                                                        environment: env, configFile: nil)
        #expect(withFlags.port == 9003 && withFlags.host == "0.0.0.0")
        #expect(withFlags.logLevel == "error")
        #expect(withFlags.objectStoreRoot.path == "/tmp/objects-from-env")
    }

    @Test func defaultsFollowTheDataDirectory() throws {
        let c = try ServerConfiguration.resolve(flags: ["data_dir": "/srv/lake"], environment: [:], configFile: nil)
        #expect(c.port == 8000 && c.host == "0.0.0.0")
        #expect(c.databasePath == "/srv/lake/tarn.sqlite")
        #expect(c.objectStoreRoot.path == "/srv/lake/objects")
    }

    @Test func mistakesAreReportedNotDefaulted() throws {
        let typo = try file("databse:\n  url: sqlite:///x\n")
        defer { try? FileManager.default.removeItem(atPath: typo) }
        #expect(throws: ServerConfiguration.Problem.self) { try ServerConfiguration.resolve(flags: [:], environment: [:], configFile: typo) }
        #expect(throws: ServerConfiguration.Problem.self) {
            try ServerConfiguration.resolve(flags: [:], environment: [:], configFile: "/nonexistent/tarn.yaml")
        }
        #expect(throws: ServerConfiguration.Problem.self) {
            try ServerConfiguration.resolve(flags: ["listen_address": "8000"], environment: [:], configFile: nil)
        }
        #expect(throws: ServerConfiguration.Problem.self) {
            try ServerConfiguration.resolve(flags: [:], environment: ["TARN_LOGGING_LEVEL": "loud"], configFile: nil)
        }
        #expect(throws: ServerConfiguration.Problem.self) {
            try ServerConfiguration.resolve(flags: ["database.url": "mysql://db"], environment: [:], configFile: nil)
        }
    }
}
