import Crypto
import Foundation
import TarnCore
import TarnMetadata

/// Why a multipart upload step was refused; the S3 gateway maps these to its codes.
public enum MultipartError: Error, Sendable, Equatable {
    case noSuchUpload(String)
    case invalidPart(Int)
    case invalidPartOrder
    case entityTooSmall(part: Int)
    case noParts
}

public typealias MultipartUploadRecord = SQLiteStore.MultipartUpload
public typealias MultipartPartRecord = SQLiteStore.MultipartPart

/// S3 multipart uploads: each part is stored as an object of its own as it arrives; completing
/// composes them into one fresh object, stages it like any upload, and removes the parts.
extension Catalog {
    /// Parts but the last must be at least this large (as S3).
    public static let minimumPartSize: Int64 = 5 << 20

    /// `checksumAlgorithm` / `checksumType` are the S3 names the gateway records for the parts.
    public func createMultipartUpload(repository: String, branch: String, path: String, contentType: String,
                                      metadata: [String: String], checksumAlgorithm: String? = nil, checksumType: String? = nil) throws -> String {
        _ = try engine.repository(repository)
        _ = try engine.branch(repository: repository, name: branch)
        let id = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try self.metadata.createMultipartUpload(.init(id: id, repository: repository, branch: branch, path: path, contentType: contentType,
                                                  metadata: metadata, createdAt: Int64(Date().timeIntervalSince1970),
                                                  checksumAlgorithm: checksumAlgorithm, checksumType: checksumType))
        return id
    }

    public func multipartUpload(_ id: String) throws -> SQLiteStore.MultipartUpload {
        guard let upload = try self.metadata.multipartUpload(id) else { throw MultipartError.noSuchUpload(id) }
        return upload
    }

    /// Stores one part (replacing an earlier one with the same number). `checksum` is called
    /// once the bytes are stored: the part's checksum computed as they streamed, if any.
    public func uploadPart<Body: AsyncSequence>(uploadID: String, number: Int, body: Body, size: Int64? = nil,
                                                checksum: () -> String? = { nil }) async throws -> SQLiteStore.MultipartPart
        where Body.Element: Collection, Body.Element.Element == UInt8 {
        let upload = try multipartUpload(uploadID)
        guard upload.completedETag == nil else { throw MultipartError.noSuchUpload(uploadID) }
        let repo = try engine.repository(upload.repository)
        let stored = try await blocks.put(namespace: repo.storageNamespace, body: body, size: size)
        let part = SQLiteStore.MultipartPart(number: number, physicalAddress: stored.physicalAddress, size: stored.size, md5: stored.md5,
                                             createdAt: Int64(Date().timeIntervalSince1970), checksum: checksum())
        do {
            if let replaced = try metadata.putMultipartPart(uploadID: uploadID, part) {
                try? await blocks.delete(namespace: repo.storageNamespace, address: replaced.physicalAddress)
            }
        } catch {
            try? await blocks.delete(namespace: repo.storageNamespace, address: stored.physicalAddress)
            if case EngineError.objectNotFound = error { throw MultipartError.noSuchUpload(uploadID) }
            throw error
        }
        return part
    }

    /// What a completion adds to the object, decided by the caller from the chosen parts (a
    /// checksum of them, their layout), and the checksum to answer with.
    public typealias CompletionExtras = (metadata: [String: String], checksum: String?)

    /// Completes an upload with the parts the client lists (number and ETag, ascending; a
    /// number repeated in a row counts once, with its last ETag).
    /// `extras` sees the chosen parts, in order, before anything is written, and may refuse
    /// them by throwing. Returns S3's multipart ETag (`<md5 of part md5s>-N`, also the entry's
    /// checksum) and the extras' checksum.
    public func completeMultipartUpload(uploadID: String, parts requested: [(number: Int, etag: String)],
                                        extras: ([MultipartPartRecord]) throws -> CompletionExtras = { _ in ([:], nil) })
        async throws -> (etag: String, checksum: String?) {
        let upload = try multipartUpload(uploadID)
        // Completing again answers as the first time did (S3 clients retry completions).
        if let done = upload.completedETag { return (done, upload.completedChecksum) }
        let repo = try engine.repository(upload.repository)
        guard !requested.isEmpty else { throw MultipartError.noParts }
        let stored = Dictionary(uniqueKeysWithValues: try metadata.multipartParts(uploadID: uploadID, afterNumber: 0, limit: .max).map { ($0.number, $0) })
        // A number listed again right after itself counts once, with its last ETag: a client
        // that sent a part twice lists both answers, and the later upload is the part (Ceph
        // RGW keeps the list as a map by number; s3-tests' test_multipart_resend_first_finishes_last).
        var listed: [(number: Int, etag: String)] = []
        for want in requested {
            if listed.last?.number == want.number { listed[listed.count - 1] = want } else { listed.append(want) }
        }
        var chosen: [SQLiteStore.MultipartPart] = []
        for (i, want) in listed.enumerated() {
            if i > 0 && want.number < listed[i - 1].number { throw MultipartError.invalidPartOrder }
            let etag = want.etag.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            guard let part = stored[want.number], part.md5 == etag.lowercased() else { throw MultipartError.invalidPart(want.number) }
            chosen.append(part)
        }
        for part in chosen.dropLast() where part.size < Self.minimumPartSize { throw MultipartError.entityTooSmall(part: part.number) }
        let added = try extras(chosen)
        let composed = try await blocks.compose(namespace: repo.storageNamespace, parts: chosen.map(\.physicalAddress))
        var md5s = [UInt8]()
        for part in chosen { md5s += ContentHash.bytes(hex: part.md5) }
        let etag = ContentHash.hex(Insecure.MD5.hash(data: md5s)) + "-\(chosen.count)"
        let entry = Entry(path: upload.path, physicalAddress: composed.physicalAddress, size: composed.size, checksum: etag,
                          contentType: upload.contentType, metadata: upload.metadata.merging(added.metadata) { $1 }, mtime: Self.uploadTime())
        do {
            try engine.putObject(repository: upload.repository, branch: upload.branch, entry: entry)
        } catch {
            try? await blocks.delete(namespace: repo.storageNamespace, address: composed.physicalAddress)
            throw error
        }
        CatalogMetrics.objectsStaged.increment()
        CatalogMetrics.bytesStaged.increment(by: Int(composed.size))
        if let parts = try? metadata.removeMultipartUpload(uploadID, completedETag: etag, completedChecksum: added.checksum) {
            for part in parts { try? await blocks.delete(namespace: repo.storageNamespace, address: part.physicalAddress) }
        }
        return (etag, added.checksum)
    }

    public func multipartParts(uploadID: String, after: Int, limit: Int) throws -> [MultipartPartRecord] {
        try metadata.multipartParts(uploadID: uploadID, afterNumber: after, limit: limit)
    }

    /// Uploads of a repository in key order, after a (key, upload ID) marker.
    public func multipartUploads(repository: String, afterKey: String, afterID: String, limit: Int) throws -> [MultipartUploadRecord] {
        try metadata.listMultipartUploads(repository: repository, afterPath: afterKey, afterID: afterID, limit: limit)
    }

    public func abortMultipartUpload(uploadID: String) async throws {
        let upload = try multipartUpload(uploadID)
        guard upload.completedETag == nil else { throw MultipartError.noSuchUpload(uploadID) }
        let repo = try engine.repository(upload.repository)
        guard let parts = try metadata.removeMultipartUpload(uploadID) else { throw MultipartError.noSuchUpload(uploadID) }
        for part in parts { try? await blocks.delete(namespace: repo.storageNamespace, address: part.physicalAddress) }
    }
}
