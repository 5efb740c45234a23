import Testing
@testable import TarnBlock

@Suite struct ListedPageTests {
    @Test func aListObjectsV2PageBecomesObjectsAndTheNextToken() {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <ListBucketResult><Name>b</Name><IsTruncated>true</IsTruncated><KeyCount>2</KeyCount>\
            <Contents><Key>raw/a &amp; b.csv</Key><LastModified>2026-12-01T20:00:00.000Z</LastModified>\
            <ETag>&quot;0cc175b9c0f1b6a831c399e269772661&quot;</ETag><Size>1</Size></Contents>\
            <Contents><Key>raw/&#x4E2D;.csv</Key><ETag>"abc-2"</ETag><Size>12345678901</Size></Contents>\
            <NextContinuationToken>token/+=</NextContinuationToken></ListBucketResult>
            """
        let page = ListedPage(xml: Array(xml.utf8), bucket: "b")
        #expect(page.objects == [
            .init(uri: "s3://b/raw/a & b.csv", key: "raw/a & b.csv", size: 1, etag: "0cc175b9c0f1b6a831c399e269772661",
                  lastModified: "2026-12-01T20:00:00.000Z"),
            .init(uri: "s3://b/raw/中.csv", key: "raw/中.csv", size: 12_345_678_901, etag: "abc-2", lastModified: ""),
        ])
        #expect(page.next == "token/+=")
    }

    @Test func theLastPageHasNoNextToken() {
        let xml = "<ListBucketResult><IsTruncated>false</IsTruncated><NextContinuationToken>x</NextContinuationToken></ListBucketResult>"
        let page = ListedPage(xml: Array(xml.utf8), bucket: "b")
        #expect(page.objects.isEmpty && page.next == nil)
    }
}
