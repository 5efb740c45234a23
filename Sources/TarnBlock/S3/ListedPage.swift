/// Objects of one ListObjectsV2 page.
public struct ListedPage: Sendable {
    public struct Object: Sendable, Equatable {
        /// `s3://bucket/key`: the address an imported entry keeps.
        public var uri: String
        public var key: String
        public var size: Int64
        public var etag: String
        public var lastModified: String
    }
    public var objects: [Object]
    /// The token of the next page; nil when this was the last.
    public var next: String?

    /// Parsed by scanning the bytes: an import reads pages as fast as the backend lists them,
    /// and Foundation's string searches (each one bridging the rest of a 300 KB page) made
    /// parsing cost more than the listing itself.
    init(xml: [UInt8], bucket: String) {
        var objects: [Object] = []
        objects.reserveCapacity(1000)
        var at = 0
        while let block = XMLScan.element("Contents", in: xml, from: at, to: xml.count) {
            if let key = XMLScan.text("Key", in: xml, block.inner) {
                let etag = XMLScan.text("ETag", in: xml, block.inner).map { String(decoding: $0.utf8.filter { $0 != UInt8(ascii: "\"") }, as: UTF8.self) } ?? ""
                objects.append(Object(uri: "s3://\(bucket)/\(key)", key: key,
                                      size: Int64(XMLScan.text("Size", in: xml, block.inner) ?? "") ?? 0,
                                      etag: etag,
                                      lastModified: XMLScan.text("LastModified", in: xml, block.inner) ?? ""))
            }
            at = block.end
        }
        self.objects = objects
        let whole = 0..<xml.count
        next = XMLScan.text("IsTruncated", in: xml, whole) == "true" ? XMLScan.text("NextContinuationToken", in: xml, whole) : nil
    }
}
