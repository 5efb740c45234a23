import Foundation
import Hummingbird
import HTTPTypes
import HummingbirdTesting
import Testing
import TarnCatalog
import TarnServer

/// A catalog in a temporary data directory and the API router over it, driven without sockets.
final class TestServer {
    let directory: URL
    let catalog: Catalog

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("tarn-api-\(UUID().uuidString)")
        catalog = try Catalog(dataDirectory: directory)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    func run(_ test: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let app = Application(router: buildRouter(catalog: catalog, authenticator: nil))
        try await app.test(.router, test)
    }
}

func json(_ buffer: ByteBuffer) throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as! [String: Any]
}

func body(_ object: [String: Any]) throws -> ByteBuffer {
    ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: object))
}

@Suite struct APITests {
    @Test func healthcheckAndConfigAnswer() async throws {
        let server = try TestServer()
        try await server.run { client in
            try await client.execute(uri: "/api/v1/healthcheck", method: .get) { #expect($0.status == .noContent) }
            try await client.execute(uri: "/api/v1/healthcheck", method: .get,
                                     headers: [HTTPField.Name("X-Request-Id")!: "abc123"]) { response in
                #expect(response.headers[HTTPField.Name("X-Request-Id")!] == "abc123")
            }
            try await client.execute(uri: "/api/v1/repositories/none", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(!(response.headers[HTTPField.Name("X-Request-Id")!] ?? "").isEmpty)
            }
            try await client.execute(uri: "/api/v1/config", method: .get) { response in
                #expect(response.status == .ok)
                let config = try json(response.body)
                let storage = config["storage_config"] as! [String: Any]
                #expect(storage["blockstore_type"] as? String == "local")
                #expect((config["version_config"] as! [String: Any])["version_context"] as? String == "lakeFS")
            }
        }
    }

    @Test func repositoryLifeCycleWithLakeFSShapes() async throws {
        let server = try TestServer()
        try await server.run { client in
            for name in ["bbb", "aaa", "ccc"] {
                try await client.execute(uri: "/api/v1/repositories", method: .post,
                                         body: try body(["name": name, "storage_namespace": "local://\(name)"])) { response in
                    #expect(response.status == .created)
                    let repo = try json(response.body)
                    #expect(repo["id"] as? String == name && repo["default_branch"] as? String == "main")
                    #expect(repo["creation_date"] is Int && repo["storage_id"] as? String == "")
                }
            }
            // Namespaces the local store cannot serve are refused when the repository is made.
            for bad in ["s3://bucket/x", "local://../escape", "local://a/./b", "local://"] {
                try await client.execute(uri: "/api/v1/repositories", method: .post,
                                         body: try body(["name": "bad-ns", "storage_namespace": bad])) { response in
                    #expect(response.status == .badRequest, "\(bad)")
                }
            }
            try await client.execute(uri: "/api/v1/repositories?amount=2", method: .get) { response in
                let list = try json(response.body)
                let pagination = list["pagination"] as! [String: Any]
                #expect((list["results"] as! [[String: Any]]).map { $0["id"] as! String } == ["aaa", "bbb"])
                #expect(pagination["has_more"] as? Bool == true && pagination["next_offset"] as? String == "bbb")
                #expect(pagination["results"] as? Int == 2 && pagination["max_per_page"] as? Int == 1000)
            }
            try await client.execute(uri: "/api/v1/repositories?after=bbb", method: .get) { response in
                let list = try json(response.body)
                #expect((list["pagination"] as! [String: Any])["next_offset"] as? String == "")
            }
            try await client.execute(uri: "/api/v1/repositories/aaa", method: .delete) { #expect($0.status == .noContent) }
            try await client.execute(uri: "/api/v1/repositories/aaa", method: .get) { response in
                #expect(response.status == .notFound)
                let message = try json(response.body)["message"] as? String
                #expect(message == "repository not found: aaa")
            }
        }
    }

    @Test func clientMistakesGetTheirStatusNeverA500() async throws {
        let server = try TestServer()
        try await server.run { client in
            try await client.execute(uri: "/api/v1/repositories", method: .post,
                                     body: try body(["name": "Bad_Name", "storage_namespace": "local://x"])) { #expect($0.status == .badRequest) }
            try await client.execute(uri: "/api/v1/repositories", method: .post, body: ByteBuffer(string: "{not json")) {
                #expect($0.status == .badRequest)
            }
            try await client.execute(uri: "/api/v1/repositories", method: .post,
                                     body: try body(["name": "repo", "storage_namespace": "local://repo"])) { #expect($0.status == .created) }
            try await client.execute(uri: "/api/v1/repositories", method: .post,
                                     body: try body(["name": "repo", "storage_namespace": "local://other"])) { #expect($0.status == .conflict) }
            try await client.execute(uri: "/api/v1/repositories/repo/branches/main", method: .delete) { #expect($0.status == .forbidden) }
            try await client.execute(uri: "/api/v1/repositories/repo/branches/main/commits", method: .post,
                                     body: try body(["message": "nothing"])) { response in
                #expect(response.status == .badRequest)
                let message = try json(response.body)["message"] as? String
                #expect(message == "no changes")
            }
        }
    }

    @Test func branchesAreCreatedAsLakeFSDoes() async throws {
        let server = try TestServer()
        try await server.run { client in
            try await client.execute(uri: "/api/v1/repositories", method: .post,
                                     body: try body(["name": "repo", "storage_namespace": "local://repo"])) { _ in }
            var head = ""
            try await client.execute(uri: "/api/v1/repositories/repo/branches/main", method: .get) { response in
                head = try json(response.body)["commit_id"] as! String
            }
            try await client.execute(uri: "/api/v1/repositories/repo/branches", method: .post,
                                     body: try body(["name": "dev", "source": "main"])) { response in
                #expect(response.status == .created)
                #expect(String(buffer: response.body) == head)
            }
            try await client.execute(uri: "/api/v1/repositories/repo/branches", method: .get) { response in
                let ids = (try json(response.body)["results"] as! [[String: Any]]).map { $0["id"] as! String }
                #expect(ids == ["dev", "main"])
            }
            try await client.execute(uri: "/api/v1/repositories/repo/branches", method: .post,
                                     body: try body(["name": "dev", "source": "main"])) { #expect($0.status == .conflict) }
        }
    }
}
