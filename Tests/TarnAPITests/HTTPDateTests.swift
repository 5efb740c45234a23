import Testing
@testable import TarnAPI

@Suite struct HTTPDateTests {
    @Test func lastModifiedIsRFC1123() {
        #expect(Objects.httpDate(0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(Objects.httpDate(1_700_000_000) == "Tue, 14 Nov 2023 22:13:20 GMT")
    }
}
