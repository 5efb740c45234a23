import Foundation
import Logging
import Testing
@testable import TarnServer

@Suite struct LogOutputTests {
    @Test func linesAreLogfmtWithSortedKeysAndQuotedValues() throws {
        let pipe = Pipe()
        let output = LogOutput(fd: pipe.fileHandleForWriting.fileDescriptor)
        var logger = Logger(label: "tarn") { _ in output.handler(label: "tarn", level: .info) }
        logger[metadataKey: "request_id"] = "abc"
        logger.debug("not written")
        logger.info("request", metadata: ["path": "/a b", "status": .stringConvertible(200), "q": "say \"hi\"\n"])
        output.flush()
        try pipe.fileHandleForWriting.close()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let lines = text.split(separator: "\n")
        #expect(lines.count == 1)
        let line = String(lines[0])
        #expect(line.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info tarn: request "#, options: .regularExpression) != nil)
        #expect(line.hasSuffix(#"path="/a b" q="say \"hi\"\n" request_id=abc status=200"#))
    }

    @Test func aCallsMetadataWinsOverTheLoggersOwn() throws {
        let pipe = Pipe()
        let output = LogOutput(fd: pipe.fileHandleForWriting.fileDescriptor)
        var logger = Logger(label: "tarn") { _ in output.handler(label: "tarn", level: .info) }
        logger[metadataKey: "status"] = "pending"
        logger[metadataKey: "a"] = "1"
        logger.warning("done", metadata: ["status": .stringConvertible(204), "b": ""])
        output.flush()
        try pipe.fileHandleForWriting.close()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(text.hasSuffix(#" warning tarn: done a=1 b="" status=204"# + "\n"))
    }
}
