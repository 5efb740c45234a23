import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import TarnAuth
import TarnCatalog
import TarnServer

@Suite struct AuthAPITests {
    func basic(_ id: String, _ secret: String) -> String { "Basic " + Data("\(id):\(secret)".utf8).base64EncodedString() }

    @Test func everythingButHealthNeedsValidCredentials() async throws {
        let server = try TestServer()
        let auth = try openAuthenticator(catalog: server.catalog, dataDirectory: server.directory)
        let admin = try auth.ensureAdmin(fixed: nil)
        #expect(admin.accessKeyID.hasPrefix("AKIA") && admin.secretAccessKey.count == 40)
        // The same key comes back on the next start, and the secret is not stored in clear.
        #expect(try auth.ensureAdmin(fixed: nil) == admin)
        let dbBytes = try Data(contentsOf: server.directory.appendingPathComponent("tarn.sqlite"))
            + ((try? Data(contentsOf: server.directory.appendingPathComponent("tarn.sqlite-wal"))) ?? Data())
        #expect(dbBytes.range(of: Data(admin.secretAccessKey.utf8)) == nil)

        let app = Application(router: buildRouter(catalog: server.catalog, authenticator: auth))
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/v1/healthcheck", method: .get) { #expect($0.status == .noContent) }
            try await client.execute(uri: "/api/v1/repositories", method: .get) { response in
                #expect(response.status == .unauthorized)
                let message = try json(response.body)["message"] as? String
                #expect(message == "error authenticating request")
            }
            try await client.execute(uri: "/api/v1/repositories", method: .get,
                                     headers: [.authorization: basic(admin.accessKeyID, "wrong")]) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/api/v1/repositories", method: .get,
                                     headers: [.authorization: basic("AKIANOSUCHKEY", admin.secretAccessKey)]) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/api/v1/repositories", method: .get,
                                     headers: [.authorization: "Bearer not-a-jwt"]) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/api/v1/repositories", method: .get,
                                     headers: [.authorization: basic(admin.accessKeyID, admin.secretAccessKey)]) { #expect($0.status == .ok) }
        }
    }

    @Test func fixedAdminKeysAreUsedAndCheckedAgainstTheStoredOnes() throws {
        let server = try TestServer()
        let auth = try openAuthenticator(catalog: server.catalog, dataDirectory: server.directory)
        let fixed = AccessKey(accessKeyID: "AKIAFIXEDFIXEDFIXED", secretAccessKey: "s3cr3t")
        #expect(try auth.ensureAdmin(fixed: fixed) == fixed)
        #expect(try auth.ensureAdmin(fixed: fixed) == fixed)
        #expect(throws: (any Error).self) {
            try auth.ensureAdmin(fixed: AccessKey(accessKeyID: "AKIAFIXEDFIXEDFIXED", secretAccessKey: "other"))
        }
        // A different server key cannot open the stored secret.
        let otherDir = FileManager.default.temporaryDirectory.appendingPathComponent("tarn-key-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: otherDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: otherDir) }
        let other = try openAuthenticator(catalog: server.catalog, dataDirectory: otherDir)
        #expect(other.authenticateBasic(basicHeader(fixed)) == nil)
        #expect(auth.authenticateBasic(basicHeader(fixed)) == User(id: "admin"))
    }

    func basicHeader(_ k: AccessKey) -> String { basic(k.accessKeyID, k.secretAccessKey) }
}
