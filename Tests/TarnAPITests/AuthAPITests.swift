import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import TarnAuth
import TarnCatalog
import TarnCore
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

    @Test func sigV4HeadersAreReadHoweverTheirFieldsAreSpaced() throws {
        let server = try TestServer()
        let auth = try openAuthenticator(catalog: server.catalog, dataDirectory: server.directory)
        let key = try auth.ensureAdmin(fixed: AccessKey(accessKeyID: "AKIASPACING000000000", secretAccessKey: "spacing-secret"))
        // 2026-12-04T04:00:00Z.
        let signedAt = Date(timeIntervalSince1970: 1_796_356_800)
        let amzDate = "20261204T040000Z"
        var request = SigV4.Request(method: "GET", path: "/repo/main/a.txt", query: [],
                                    headers: ["host": "tarn.test", "x-amz-date": amzDate, "x-amz-content-sha256": SigV4.unsignedPayload])
        let scope = SigV4.Scope(date: "20261204", region: "us-east-1", service: "s3")
        let header = SigV4.authorization(request, accessKeyID: key.accessKeyID, secret: key.secretAccessKey, scope: scope, amzDate: amzDate)
        let fields = header.dropFirst("AWS4-HMAC-SHA256 ".count).components(separatedBy: ", ")
        #expect(fields.count == 3)
        let spacings = [header, "AWS4-HMAC-SHA256 " + fields.joined(separator: ","), "AWS4-HMAC-SHA256 " + fields.joined(separator: " ,\t "),
                        "AWS4-HMAC-SHA256 " + fields.reversed().joined(separator: ", "), "AWS4-HMAC-SHA256 ,, " + fields.joined(separator: ",,") + ", "]
        for spaced in spacings {
            request.headers["authorization"] = spaced
            let principal = try auth.verifySigV4(request, now: signedAt)
            #expect(principal.accessKeyID == key.accessKeyID && principal.scope == scope, "\(spaced)")
        }
        request.headers["authorization"] = "AWS4-HMAC-SHA256 " + fields.dropLast().joined(separator: ", ")
        #expect(throws: S3AuthError.malformed("Authorization header lacks Credential, SignedHeaders or Signature")) {
            try auth.verifySigV4(request, now: signedAt)
        }
        request.headers["authorization"] = String(header.dropLast()) + (header.last == "0" ? "1" : "0")
        #expect(throws: S3AuthError.signatureDoesNotMatch) { try auth.verifySigV4(request, now: signedAt) }
        // A header that signs fewer names than the request has is checked over those names only.
        request.headers["authorization"] = header
        request.headers["x-extra"] = "not signed"
        #expect((try? auth.verifySigV4(request, now: signedAt)) != nil)
    }

    @Test func loginGivesASessionTokenThatWorksAsBearerAndCookie() async throws {
        let server = try TestServer()
        let auth = try openAuthenticator(catalog: server.catalog, dataDirectory: server.directory)
        let admin = try auth.ensureAdmin(fixed: nil)
        let app = Application(router: buildRouter(catalog: server.catalog, authenticator: auth))
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/v1/auth/login", method: .post,
                                     body: try body(["access_key_id": admin.accessKeyID, "secret_access_key": "wrong"])) {
                #expect($0.status == .unauthorized)
            }
            let login = try await client.execute(uri: "/api/v1/auth/login", method: .post,
                                                 body: try body(["access_key_id": admin.accessKeyID, "secret_access_key": admin.secretAccessKey]))
            #expect(login.status == .ok)
            let answer = try json(login.body)
            let token = try #require(answer["token"] as? String)
            let expiry = try #require(answer["token_expiration"] as? Int)
            #expect(expiry > Int(Date().timeIntervalSince1970) + 3600)
            let setCookie = login.headers[.setCookie] ?? ""
            #expect(setCookie.hasPrefix("internal_auth_session=\(token)"))

            try await client.execute(uri: "/api/v1/user", method: .get, headers: [.authorization: "Bearer \(token)"]) { response in
                #expect(response.status == .ok)
                let user = try json(response.body)["user"] as? [String: Any]
                #expect(user?["id"] as? String == "admin")
            }
            try await client.execute(uri: "/api/v1/repositories", method: .get, headers: [.cookie: "internal_auth_session=\(token)"]) {
                #expect($0.status == .ok)
            }
            // One changed byte in the signature is refused.
            var forged = Array(token)
            forged[forged.count - 2] = forged[forged.count - 2] == "A" ? "B" : "A"
            try await client.execute(uri: "/api/v1/user", method: .get, headers: [.authorization: "Bearer \(String(forged))"]) {
                #expect($0.status == .unauthorized)
            }
        }
    }

    @Test func usersAndCredentialsLifeCycle() async throws {
        let server = try TestServer()
        let auth = try openAuthenticator(catalog: server.catalog, dataDirectory: server.directory)
        let admin = try auth.ensureAdmin(fixed: nil)
        let app = Application(router: buildRouter(catalog: server.catalog, authenticator: auth))
        let asAdmin: HTTPFields = [.authorization: basicHeader(admin)]
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/v1/auth/users", method: .post, headers: asAdmin, body: try body(["id": "alice"])) {
                #expect($0.status == .created)
            }
            try await client.execute(uri: "/api/v1/auth/users", method: .post, headers: asAdmin, body: try body(["id": "alice"])) {
                #expect($0.status == .conflict)
            }
            try await client.execute(uri: "/api/v1/auth/users", method: .post, headers: asAdmin, body: try body(["id": "a/b"])) {
                #expect($0.status == .badRequest)
            }
            let users = try await client.execute(uri: "/api/v1/auth/users", method: .get, headers: asAdmin)
            let ids = (try json(users.body)["results"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
            #expect(ids == ["admin", "alice"])

            let created = try await client.execute(uri: "/api/v1/auth/users/alice/credentials", method: .post, headers: asAdmin)
            #expect(created.status == .created)
            let pair = try json(created.body)
            let keyID = try #require(pair["access_key_id"] as? String)
            let secret = try #require(pair["secret_access_key"] as? String)
            let asAlice: HTTPFields = [.authorization: basic(keyID, secret)]
            try await client.execute(uri: "/api/v1/user", method: .get, headers: asAlice) { response in
                let user = try json(response.body)["user"] as? [String: Any]
                #expect(user?["id"] as? String == "alice")
            }
            try await client.execute(uri: "/api/v1/auth/users/alice/credentials", method: .get, headers: asAdmin) { response in
                let results = try json(response.body)["results"] as? [[String: Any]]
                let listed = results?.compactMap { $0["access_key_id"] as? String }
                #expect(listed == [keyID])
                #expect(!String(buffer: response.body).contains(secret))
            }
            try await client.execute(uri: "/api/v1/auth/users/alice/credentials/AKIANOTHERE", method: .get, headers: asAdmin) {
                #expect($0.status == .notFound)
            }
            try await client.execute(uri: "/api/v1/auth/users/alice/credentials/\(keyID)", method: .delete, headers: asAdmin) {
                #expect($0.status == .noContent)
            }
            try await client.execute(uri: "/api/v1/user", method: .get, headers: asAlice) { #expect($0.status == .unauthorized) }

            // Deleting a user voids its session tokens too.
            let second = try await client.execute(uri: "/api/v1/auth/users/alice/credentials", method: .post, headers: asAdmin)
            let pair2 = try json(second.body)
            let login = try await client.execute(uri: "/api/v1/auth/login", method: .post, body: try body([
                "access_key_id": pair2["access_key_id"] as! String, "secret_access_key": pair2["secret_access_key"] as! String]))
            let token = try #require(try json(login.body)["token"] as? String)
            try await client.execute(uri: "/api/v1/user", method: .get, headers: [.authorization: "Bearer \(token)"]) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/v1/auth/users/alice", method: .delete, headers: asAdmin) { #expect($0.status == .noContent) }
            try await client.execute(uri: "/api/v1/auth/users/alice", method: .get, headers: asAdmin) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/api/v1/user", method: .get, headers: [.authorization: "Bearer \(token)"]) {
                #expect($0.status == .unauthorized)
            }
        }
    }
}
