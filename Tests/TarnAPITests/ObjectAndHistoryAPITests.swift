import Foundation
import Hummingbird
import HTTPTypes
import HummingbirdTesting
import Testing
import TarnServer

extension TestClientProtocol {
    func createRepo(_ name: String) async throws {
        try await execute(uri: "/api/v1/repositories", method: .post,
                          body: try body(["name": name, "storage_namespace": "local://\(name)"])) { #expect($0.status == .created) }
    }

    func upload(_ repo: String, _ branch: String, _ path: String, _ content: String,
                headers: HTTPFields = [.contentType: "text/plain"]) async throws -> TestResponse {
        try await execute(uri: "/api/v1/repositories/\(repo)/branches/\(branch)/objects?path=\(path)", method: .post,
                          headers: headers, body: ByteBuffer(string: content)) { $0 }
    }

    func commit(_ repo: String, _ branch: String, _ message: String) async throws -> [String: Any] {
        try await execute(uri: "/api/v1/repositories/\(repo)/branches/\(branch)/commits", method: .post,
                          body: try body(["message": message, "metadata": ["k": "v"]])) { response in
            #expect(response.status == .created)
            return try json(response.body)
        }
    }
}

@Suite struct ObjectAndHistoryAPITests {
    @Test func uploadReadRangesStatAndList() async throws {
        let server = try TestServer()
        try await server.run { client in
            try await client.createRepo("repo")
            let up = try await client.upload("repo", "main", "dir/a.txt", "hello world",
                                             headers: [.contentType: "text/plain", HTTPField.Name("X-Lakefs-Meta-Owner")!: "ann"])
            #expect(up.status == .created)
            let stats = try json(up.body)
            #expect(stats["checksum"] as? String == "5eb63bbbe01eeed093cb22bb8f5acdc3")
            #expect(stats["size_bytes"] as? Int == 11 && stats["path_type"] as? String == "object")
            #expect((stats["metadata"] as? [String: String]) == ["owner": "ann"])
            // Small objects share pack files where the file system allows (LocalBlockStore).
            #expect(["local://repo/data/", "local://repo/packs/"].contains { (stats["physical_address"] as? String)?.hasPrefix($0) == true })
            _ = try await client.upload("repo", "main", "dir/sub/b.txt", "b")
            _ = try await client.upload("repo", "main", "top.txt", "t")

            try await client.execute(uri: "/api/v1/repositories/repo/refs/main/objects?path=dir/a.txt", method: .get) { r in
                #expect(r.status == .ok && String(buffer: r.body) == "hello world")
                #expect(r.headers[.eTag] == "\"5eb63bbbe01eeed093cb22bb8f5acdc3\"" && r.headers[.contentType] == "text/plain")
            }
            try await client.execute(uri: "/api/v1/repositories/repo/refs/main/objects?path=dir/a.txt", method: .get,
                                     headers: [.range: "bytes=6-"]) { r in
                #expect(r.status == .partialContent && String(buffer: r.body) == "world")
                #expect(r.headers[.contentRange] == "bytes 6-10/11")
            }
            try await client.execute(uri: "/api/v1/repositories/repo/refs/main/objects?path=dir/a.txt", method: .get,
                                     headers: [.range: "bytes=-5"]) { r in #expect(String(buffer: r.body) == "world") }
            try await client.execute(uri: "/api/v1/repositories/repo/refs/main/objects?path=dir/a.txt", method: .get,
                                     headers: [.range: "bytes=20-30"]) { r in
                #expect(r.status == .rangeNotSatisfiable && r.headers[.contentRange] == "bytes */11")
            }
            try await client.execute(uri: "/api/v1/repositories/repo/refs/main/objects?path=dir/a.txt", method: .head) { r in
                #expect(r.status == .ok && r.headers[.contentLength] == "11" && r.body.readableBytes == 0)
            }
            try await client.execute(uri: "/api/v1/repositories/repo/refs/main/objects?path=nope", method: .head) { r in
                #expect(r.status == .notFound && r.body.readableBytes == 0)
            }
            try await client.execute(uri: "/api/v1/repositories/repo/refs/main/objects/ls?delimiter=/", method: .get) { r in
                let rows = try json(r.body)["results"] as! [[String: Any]]
                #expect(rows.map { $0["path"] as! String } == ["dir/", "top.txt"])
                #expect(rows.map { $0["path_type"] as! String } == ["common_prefix", "object"])
                #expect(rows[0]["checksum"] as? String == "" && rows[0]["mtime"] as? Int == 0)
            }
            let conflict = try await client.upload("repo", "main", "top.txt", "again", headers: [.ifNoneMatch: "*"])
            #expect(conflict.status == .preconditionFailed)
            // If-Match: only over the version the client read.
            let current = try await client.execute(uri: "/api/v1/repositories/repo/refs/main/objects/stat?path=top.txt", method: .get)
            let etag = "\"" + (try json(current.body)["checksum"] as! String) + "\""
            let stale = try await client.upload("repo", "main", "top.txt", "v2", headers: [.ifMatch: "\"0000\""])
            #expect(stale.status == .preconditionFailed)
            let missing = try await client.upload("repo", "main", "absent.txt", "v2", headers: [.ifMatch: "*"])
            #expect(missing.status == .preconditionFailed)
            let matched = try await client.upload("repo", "main", "top.txt", "v2", headers: [.ifMatch: etag])
            #expect(matched.status == .created)
            try await client.execute(uri: "/api/v1/repositories/repo/branches/main/objects?path=top.txt", method: .delete) {
                #expect($0.status == .noContent)
            }
            try await client.execute(uri: "/api/v1/repositories/repo/refs/main/objects/stat?path=top.txt", method: .get) {
                #expect($0.status == .notFound)
            }
            try await client.execute(uri: "/api/v1/repositories/repo/branches/main/objects?path=x", method: .post,
                                     headers: [.contentType: "multipart/form-data; boundary=b"], body: ByteBuffer(string: "--b--")) {
                #expect($0.status == .badRequest)
            }
            let form = formBody(boundary: "xyz", parts: [("content", "application/json", Array("{\"a\": 1}".utf8))])
            try await client.execute(uri: "/api/v1/repositories/repo/branches/main/objects?path=form.json", method: .post,
                                     headers: [.contentType: "multipart/form-data; boundary=xyz"], body: ByteBuffer(bytes: form)) { r in
                #expect(r.status == .created)
                let stats = try json(r.body)
                #expect(stats["content_type"] as? String == "application/json" && stats["size_bytes"] as? Int == 8)
            }
            try await client.execute(uri: "/api/v1/repositories/repo/refs/main/objects?path=form.json", method: .get) { r in
                #expect(String(buffer: r.body) == "{\"a\": 1}")
            }
        }
    }

    @Test func commitLogDiffMergeAndTags() async throws {
        let server = try TestServer()
        try await server.run { client in
            try await client.createRepo("repo")
            _ = try await client.upload("repo", "main", "a", "1")
            let c1 = try await client.commit("repo", "main", "first")
            #expect((c1["parents"] as! [String]).count == 1 && c1["metadata"] as? [String: String] == ["k": "v"])
            try await client.execute(uri: "/api/v1/repositories/repo/branches", method: .post,
                                     body: try body(["name": "dev", "source": "main"])) { _ in }
            _ = try await client.upload("repo", "dev", "a", "dev")
            _ = try await client.upload("repo", "main", "a", "main")
            try await client.execute(uri: "/api/v1/repositories/repo/branches/dev/diff", method: .get) { r in
                let rows = try json(r.body)["results"] as! [[String: Any]]
                #expect(rows.map { $0["type"] as! String } == ["changed"])
            }
            _ = try await client.commit("repo", "dev", "dev change")
            _ = try await client.commit("repo", "main", "main change")
            try await client.execute(uri: "/api/v1/repositories/repo/refs/dev/merge/main", method: .post, body: try body([:])) { r in
                #expect(r.status == .conflict)
            }
            try await client.execute(uri: "/api/v1/repositories/repo/refs/dev/merge/main", method: .post,
                                     body: try body(["strategy": "source-wins"])) { r in
                #expect(r.status == .ok)
                let reference = try json(r.body)["reference"] as? String
                #expect(reference?.count == 64)
            }
            try await client.execute(uri: "/api/v1/repositories/repo/refs/main/objects?path=a", method: .get) { r in
                #expect(String(buffer: r.body) == "dev")
            }
            try await client.execute(uri: "/api/v1/repositories/repo/refs/main/commits?objects=a&amount=2", method: .get) { r in
                let list = try json(r.body)
                #expect((list["results"] as! [[String: Any]]).count == 2)
                #expect((list["pagination"] as! [String: Any])["has_more"] as? Bool == true)
            }
            try await client.execute(uri: "/api/v1/repositories/repo/refs/main~1/diff/main?type=two_dot", method: .get) { r in
                let rows = try json(r.body)["results"] as! [[String: Any]]
                #expect(rows.map { $0["path"] as! String } == ["a"])
            }
            try await client.execute(uri: "/api/v1/repositories/repo/commits/main~3", method: .get) { r in
                let message = try json(r.body)["message"] as? String
                #expect(message == "Repository created")
            }
            try await client.execute(uri: "/api/v1/repositories/repo/tags", method: .post,
                                     body: try body(["id": "v1", "ref": "main~1"])) { r in
                #expect(r.status == .created)
            }
            try await client.execute(uri: "/api/v1/repositories/repo/refs/v1/objects?path=a", method: .get) { r in
                #expect(String(buffer: r.body) == "main")
            }
            try await client.execute(uri: "/api/v1/repositories/repo/refs/dev/merge/main", method: .get) { r in
                let base = try json(r.body)
                #expect((base["base_commit_id"] as? String)?.count == 64)
            }
        }
    }
}
