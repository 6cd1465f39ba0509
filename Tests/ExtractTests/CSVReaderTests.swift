import ETLTestSupport
import Foundation
import Testing

@testable import Extract

@Suite struct CSVReaderTests {
  func rows(_ bytes: [UInt8], chunk: Int = 1 << 20, maxRow: Int = 4 << 20) throws -> [CSVRow] {
    let dir = try TempDirectory()
    let path = dir.file("x.csv")
    FileManager.default.createFile(atPath: path, contents: Data(bytes))
    var out: [CSVRow] = []
    try CSVReader(path: path, maxRowBytes: maxRow, chunkSize: chunk).forEachRow { out.append($0) }
    return out
  }

  @Test func quotingBomCRLFAndLineNumbers() throws {
    let text =
      "\u{FEFF}id,desc,amount\r\n1,\"a, b\",\"1,188.00\"\r\n2,\"say \"\"hi\"\"\",3\r\n\r\n3,\"two\nlines\",4\r\n"
    for chunk in [1, 3, 7, 1 << 20] {
      let r = try rows(Array(text.utf8), chunk: chunk)
      #expect(
        r.map(\.fields) == [
          ["id", "desc", "amount"], ["1", "a, b", "1,188.00"], ["2", "say \"hi\"", "3"], ["3", "two\nlines", "4"],
        ])
      #expect(r.map(\.line) == [1, 2, 3, 5])
      #expect(r.allSatisfy { $0.problem == nil })
    }
  }

  @Test func lfAndLoneCRAndNoFinalNewline() throws {
    let r = try rows(Array("a,b\n1,2\r3,4".utf8))
    #expect(r.map(\.fields) == [["a", "b"], ["1", "2"], ["3", "4"]])
    #expect(r.map(\.line) == [1, 2, 3])
  }

  @Test func malformedRowsAreReportedAndReadingContinues() throws {
    var bytes = Array("a,b\n\"x\"y,1\n".utf8)
    bytes += [0x6F, 0xFF, 0x2C, 0x32, 0x0A]  // invalid UTF-8 in field 1
    bytes += Array("ok,3\n\"never closed,4\nmore\n".utf8)
    let r = try rows(bytes)
    #expect(r.count == 5)
    #expect(r[1].problem?.contains("after its closing quote") == true)
    #expect(r[1].line == 2)
    #expect(r[2].problem == "field 1 is not valid UTF-8")
    #expect(r[3].fields == ["ok", "3"] && r[3].problem == nil)
    #expect(r[4].problem?.contains("never closed") == true)
    #expect(r[4].line == 5)
  }

  @Test func aRowOverTheSizeLimitIsReportedAndReadingGoesOn() throws {
    let text =
      "a,b\n" + String(repeating: "x", count: 5000) + ",1\nok,2\n\"" + String(repeating: "y", count: 3000) + "\n"
    let r = try rows(Array(text.utf8), chunk: 512, maxRow: 1024)
    #expect(r.count == 4)
    #expect(r[1].line == 2 && r[1].problem?.contains("longer than 1024 bytes") == true)
    #expect(r[2].fields == ["ok", "2"] && r[2].problem == nil && r[2].line == 3)
    // An unterminated quote that runs past the limit to the end of the file says so.
    #expect(r[3].line == 4 && r[3].problem?.contains("never closed") == true)
  }
}
