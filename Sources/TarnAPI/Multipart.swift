import Foundation
import Hummingbird

/// Reads one named part of a `multipart/form-data` body as a stream: headers are parsed
/// (at most 16 KiB of them), the part's bytes are handed on as they arrive, keeping back only
/// enough to recognise the closing boundary when it is split across chunks. lakefs-sdk's
/// `upload_object` sends the object this way, in a part named `content`.
final class MultipartReader<Base: AsyncSequence>: @unchecked Sendable where Base.Element == ByteBuffer {
    private var upstream: Base.AsyncIterator
    private var buffer: [UInt8] = []
    private var finished = false
    private var partDone = false
    private let dashBoundary: [UInt8]
    private let bodyEnd: [UInt8]
    static var maxHeaderBytes: Int { 16 * 1024 }

    /// The boundary from a `multipart/form-data; boundary=...` content type.
    static func boundary(fromContentType value: String) -> String? {
        for param in value.split(separator: ";").dropFirst() {
            let kv = param.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if kv.count == 2, kv[0].lowercased() == "boundary" {
                return kv[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
        }
        return nil
    }

    init(_ base: Base, boundary: String) {
        upstream = base.makeAsyncIterator()
        dashBoundary = Array(("--" + boundary).utf8)
        bodyEnd = Array(("\r\n--" + boundary).utf8)
    }

    private func fill() async throws -> Bool {
        guard !finished else { return false }
        guard let chunk = try await upstream.next() else {
            finished = true
            return false
        }
        buffer.append(contentsOf: chunk.readableBytesView)
        return true
    }

    private static func find(_ needle: [UInt8], in hay: [UInt8], from start: Int = 0) -> Int? {
        guard needle.count <= hay.count - start, let first = needle.first else { return nil }
        var i = start
        let last = hay.count - needle.count
        while i <= last {
            if hay[i] == first {
                var j = 1
                while j < needle.count && hay[i + j] == needle[j] { j += 1 }
                if j == needle.count { return i }
            }
            i += 1
        }
        return nil
    }

    /// Moves to the part named `name`; returns its Content-Type (nil if it has none), or
    /// throws if the body has no such part.
    func open(part name: String) async throws -> String? {
        while true {
            // Find the next dash-boundary.
            var at: Int?
            while true {
                at = Self.find(dashBoundary, in: buffer)
                if at != nil { break }
                if buffer.count > dashBoundary.count { buffer.removeFirst(buffer.count - dashBoundary.count) }
                guard try await fill() else { throw APIError(.badRequest, "multipart body has no part named \(name)") }
            }
            buffer.removeFirst(at! + dashBoundary.count)
            while buffer.count < 2 { guard try await fill() else { throw APIError(.badRequest, "truncated multipart body") } }
            if buffer[0] == UInt8(ascii: "-") && buffer[1] == UInt8(ascii: "-") {
                throw APIError(.badRequest, "multipart body has no part named \(name)")
            }
            // Headers end at the first empty line.
            var end: Int?
            while true {
                end = Self.find(Array("\r\n\r\n".utf8), in: buffer)
                if end != nil { break }
                guard buffer.count < Self.maxHeaderBytes, try await fill() else { throw APIError(.badRequest, "bad multipart part headers") }
            }
            let headerText = String(decoding: buffer[0..<end!], as: UTF8.self)
            buffer.removeFirst(end! + 4)
            var partName: String?
            var contentType: String?
            for line in headerText.split(separator: "\r\n") {
                let kv = line.split(separator: ":", maxSplits: 1)
                guard kv.count == 2 else { continue }
                let key = kv[0].trimmingCharacters(in: .whitespaces).lowercased()
                let value = kv[1].trimmingCharacters(in: .whitespaces)
                if key == "content-type" { contentType = value }
                if key == "content-disposition" {
                    for param in value.split(separator: ";").dropFirst() {
                        let p = param.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                        if p.count == 2, p[0].lowercased() == "name" {
                            partName = p[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                        }
                    }
                }
            }
            if partName == name {
                partDone = false
                return contentType
            }
            // Not ours: skip its bytes and look for the next part.
            partDone = false
            while try await nextChunk() != nil {}
        }
    }

    /// The next bytes of the open part; nil once its closing boundary has been reached.
    func nextChunk() async throws -> [UInt8]? {
        while !partDone {
            if let at = Self.find(bodyEnd, in: buffer) {
                let chunk = Array(buffer[0..<at])
                buffer.removeFirst(at + 2) // keep "--boundary" for whoever reads on
                partDone = true
                return chunk.isEmpty ? nil : chunk
            }
            let safe = buffer.count - (bodyEnd.count - 1)
            if safe > 64 * 1024 || (safe > 0 && finished) {
                let chunk = Array(buffer[0..<safe])
                buffer.removeFirst(safe)
                return chunk
            }
            guard try await fill() else { throw APIError(.badRequest, "multipart part is not closed by its boundary") }
        }
        return nil
    }

    /// The open part's bytes as an async sequence.
    var partBody: PartBody { PartBody(reader: self) }

    struct PartBody: AsyncSequence {
        typealias Element = [UInt8]
        let reader: MultipartReader

        struct AsyncIterator: AsyncIteratorProtocol {
            let reader: MultipartReader
            mutating func next() async throws -> [UInt8]? { try await reader.nextChunk() }
        }

        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(reader: reader) }
    }
}
