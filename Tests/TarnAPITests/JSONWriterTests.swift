import Foundation
import Testing
import TarnCore
@testable import TarnAPI

@Suite struct JSONWriterTests {
    /// The direct writer and JSONEncoder must agree on every field, escapes included.
    @Test func objectStatsMatchCodable() throws {
        let tricky = "a\"b\\c\nd\te\u{1}f/é😀"
        let entry = Entry(path: "dir/\(tricky)", physicalAddress: "data/ab/cd", size: 1 << 40, checksum: "00ff",
                          contentType: "text/plain; charset=\"x\"", metadata: ["z": tricky, "a": "", "ü": "1"], mtime: -5)
        for stats in [ObjectStatsJSON(entry: entry, physicalAddress: "local://x/\(tricky)"), ObjectStatsJSON(commonPrefix: "p/")] {
            var writer = JSONWriter()
            stats.write(to: &writer)
            let direct = try JSONSerialization.jsonObject(with: Data(writer.bytes)) as! NSDictionary
            let codable = try JSONSerialization.jsonObject(with: JSONEncoder().encode(stats)) as! NSDictionary
            #expect(direct == codable)
        }
    }
}
