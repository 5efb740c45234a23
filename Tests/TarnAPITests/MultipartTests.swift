import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
@testable import TarnAPI

/// A body delivered in chunks of `size` bytes, so boundaries fall everywhere.
struct ChunkedBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let bytes: [UInt8]
    let size: Int

    struct AsyncIterator: AsyncIteratorProtocol {
        let bytes: [UInt8]
        let size: Int
        var offset = 0
        mutating func next() async throws -> ByteBuffer? {
            guard offset < bytes.count else { return nil }
            defer { offset += size }
            return ByteBuffer(bytes: bytes[offset..<Swift.min(offset + size, bytes.count)])
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(bytes: bytes, size: size) }
}

func formBody(boundary: String, parts: [(name: String, type: String?, content: [UInt8])]) -> [UInt8] {
    var out: [UInt8] = Array("preamble\r\n".utf8)
    for p in parts {
        var head = "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(p.name)\"; filename=\"f\"\r\n"
        if let t = p.type { head += "Content-Type: \(t)\r\n" }
        out += Array((head + "\r\n").utf8) + p.content + Array("\r\n".utf8)
    }
    return out + Array("--\(boundary)--\r\n".utf8)
}

@Suite struct MultipartTests {
    // Content that contains the boundary's prefix and CRLFs, to trip a naive scanner.
    static let content: [UInt8] = Array("line\r\n--boun not the end\r\n--bou\r\n-".utf8) + (0..<3000).map { UInt8($0 % 251) }

    @Test(arguments: [1, 2, 3, 7, 64, 4096])
    func contentPartStreamsWhateverTheChunking(chunk: Int) async throws {
        let body = formBody(boundary: "bound", parts: [("other", nil, Array("ignored".utf8)),
                                                       ("content", "text/csv", Self.content)])
        let reader = MultipartReader(ChunkedBody(bytes: body, size: chunk), boundary: "bound")
        #expect(try await reader.open(part: "content") == "text/csv")
        var got: [UInt8] = []
        for try await piece in reader.partBody { got += piece }
        #expect(got == Self.content)
    }

    @Test func missingPartAndUnclosedPartAreErrors() async throws {
        let noContent = formBody(boundary: "b", parts: [("other", nil, [1, 2, 3])])
        await #expect(throws: APIError.self) {
            _ = try await MultipartReader(ChunkedBody(bytes: noContent, size: 5), boundary: "b").open(part: "content")
        }
        let cut = Array(formBody(boundary: "zz9", parts: [("content", nil, Self.content)]).dropLast(20))
        let reader = MultipartReader(ChunkedBody(bytes: cut, size: 100), boundary: "zz9")
        _ = try await reader.open(part: "content")
        await #expect(throws: APIError.self) { for try await _ in reader.partBody {} }
    }

    @Test func boundaryIsReadFromTheContentType() {
        #expect(MultipartReader<ChunkedBody>.boundary(fromContentType: "multipart/form-data; boundary=abc") == "abc")
        #expect(MultipartReader<ChunkedBody>.boundary(fromContentType: "multipart/form-data; charset=x; boundary=\"q q\"") == "q q")
        #expect(MultipartReader<ChunkedBody>.boundary(fromContentType: "multipart/form-data") == nil)
    }
}
