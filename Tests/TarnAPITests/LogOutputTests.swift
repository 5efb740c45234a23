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

    @Test func theRequestLineIsWhatTheGenericPathWrites() throws {
        let pipe = Pipe()
        let output = LogOutput(fd: pipe.fileHandleForWriting.fileDescriptor)
        let logger = Logger(label: "tarn") { _ in output.handler(label: "tarn", level: .info) }
        let buffered = try #require(logger.handler as? BufferedLogHandler)
        for (path, id) in [("/repo/main/a b.txt", "0a1b" as String?), ("/r/main/x=\"y\"", nil), ("/plain", "id with space")] {
            #expect(buffered.logRequest(method: "GET", path: path, status: 206, micros: 1234, requestID: id))
            var metadata: Logger.Metadata = ["method": "GET", "path": .string(path), "status": .stringConvertible(206), "us": .stringConvertible(1234)]
            if let id { metadata["hb.request.id"] = .string(id) }
            logger.info("request", metadata: metadata)
        }
        // With metadata of its own, the handler leaves the line to the generic path, which merges it.
        var tagged = logger
        tagged[metadataKey: "node"] = "a"
        #expect(!(try #require(tagged.handler as? BufferedLogHandler)).logRequest(method: "GET", path: "/", status: 200, micros: 1,
                                                                                 requestID: nil))
        output.flush()
        try pipe.fileHandleForWriting.close()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        // Without their timestamps, the lines come in equal pairs.
        let lines = text.split(separator: "\n").map { $0.drop { $0 != " " } }
        #expect(lines.count == 6)
        for pair in stride(from: 0, to: lines.count - 1, by: 2) { #expect(lines[pair] == lines[pair + 1]) }
        #expect(lines[0] == #" info tarn: request hb.request.id=0a1b method=GET path="/repo/main/a b.txt" status=206 us=1234"#)
    }
}
