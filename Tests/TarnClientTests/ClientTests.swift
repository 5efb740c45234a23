import Foundation
import Testing
@testable import TarnClient

@Suite struct LakeFSURITests {
    @Test func parsesRepositoryRefAndPath() throws {
        let u = try LakeFSURI(parsing: "lakefs://repo/main/a/b c.txt")
        #expect(u == LakeFSURI(repository: "repo", ref: "main", path: "a/b c.txt"))
        #expect(try LakeFSURI(parsing: "tarn://repo") == LakeFSURI(repository: "repo"))
        #expect(try LakeFSURI(parsing: "lakefs://repo/main/") == LakeFSURI(repository: "repo", ref: "main", path: ""))
        #expect(u.description == "lakefs://repo/main/a/b c.txt")
    }

    @Test func refusesWhatIsNotALakeFSURI() {
        for bad in ["s3://repo/main", "lakefs://", "lakefs:///main", "repo/main"] {
            #expect(throws: ClientError.self) { try LakeFSURI(parsing: bad) }
        }
        #expect(throws: ClientError.self) { try LakeFSURI(repository: "r").requireRef() }
    }
}

@Suite struct ConfigurationTests {
    func home(_ files: [String: String]) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tarn-cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for (name, text) in files { try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8) }
        return dir
    }

    func yaml(_ endpoint: String, _ key: String) -> String {
        "credentials:\n  access_key_id: \(key)\n  secret_access_key: s\nserver:\n  endpoint_url: \(endpoint)\n"
    }

    @Test func precedenceIsFlagsTarnEnvLakectlEnvTarnFileLakectlFile() throws {
        let both = try home([".tarn.yaml": yaml("http://t:1", "T"), ".lakectl.yaml": yaml("http://l:1", "L")])
        var env = ["HOME": both]
        #expect(try ClientConfiguration.resolve(file: nil, environment: env).endpoint == "http://t:1/api/v1")
        let lakectlOnly = try home([".lakectl.yaml": yaml("http://l:1/api/v1/", "L")])
        let fromLakectl = try ClientConfiguration.resolve(file: nil, environment: ["HOME": lakectlOnly])
        #expect(fromLakectl.endpoint == "http://l:1/api/v1" && fromLakectl.accessKeyID == "L")
        env["LAKECTL_CREDENTIALS_ACCESS_KEY_ID"] = "LE"
        #expect(try ClientConfiguration.resolve(file: nil, environment: env).accessKeyID == "LE")
        env["TARN_CREDENTIALS_ACCESS_KEY_ID"] = "TE"
        #expect(try ClientConfiguration.resolve(file: nil, environment: env).accessKeyID == "TE")
        let flagged = try ClientConfiguration.resolve(file: nil, flags: ["credentials.access_key_id": "F"], environment: env)
        #expect(flagged.accessKeyID == "F")
    }

    @Test func missingPiecesAreUsageErrors() throws {
        let empty = try home([:])
        #expect(throws: ClientError.self) { try ClientConfiguration.resolve(file: nil, environment: ["HOME": empty]) }
        #expect(throws: ClientError.self) { try ClientConfiguration.resolve(file: empty + "/none.yaml", environment: ["HOME": empty]) }
        let config = ClientConfiguration(endpoint: "http://h:8000/api/v1", accessKeyID: "k", secretAccessKey: "s")
        let written = try home(["c.yaml": config.yaml])
        #expect(try ClientConfiguration.resolve(file: written + "/c.yaml", environment: ["HOME": written]) == ClientConfiguration(
            endpoint: "http://h:8000/api/v1", accessKeyID: "k", secretAccessKey: "s", source: written + "/c.yaml"))
    }

    @Test func exitCodesFollowTheStatus() {
        #expect(ClientError.server(status: 404, message: "", body: nil).exitCode == 5)
        #expect(ClientError.server(status: 409, message: "", body: nil).exitCode == 3)
        #expect(ClientError.server(status: 412, message: "", body: nil).exitCode == 4)
        #expect(ClientError.server(status: 500, message: "", body: nil).exitCode == 1)
        #expect(ClientError.usage("x").exitCode == 2)
    }
}
