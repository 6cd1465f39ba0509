import ETLTestSupport
import Foundation
import RevenueCore
import Testing

@testable import Staging

@Suite("NDJSON reading and writing")
struct NDJSONTests {
  @Test("splits lines across chunk boundaries, drops CR, skips blank lines but keeps line numbers")
  func chunkBoundaries() throws {
    let dir = try TempDirectory()
    var text = ""
    for i in 1...500 {
      text += i % 50 == 0 ? "\r\n" : "{\"n\":\(i),\"pad\":\"\(String(repeating: "x", count: i % 37))\"}\r\n"
    }
    let path = try dir.write("a.ndjson", text + "{\"last\":true}")  // no trailing newline
    var seen: [Int] = []
    // A 64-byte chunk forces lines to straddle reads and the buffer to grow.
    try NDJSONReader(path: path, chunkSize: 64).forEachValue { result, line in
      let v = try result.get()
      if let n = v["n"]?.int64Value { #expect(Int(n) == line) }
      seen.append(line)
    }
    #expect(seen.count == 491)
    #expect(seen.last == 501)
  }

  @Test("passes malformed lines to the caller with their line number")
  func malformedLines() throws {
    let dir = try TempDirectory()
    let path = try dir.write("b.ndjson", "{\"ok\":1}\n{\"broken\":\n{\"ok\":2}\n")
    var failures: [Int] = []
    var ok = 0
    try NDJSONReader(path: path).forEachValue { result, line in
      switch result {
      case .success: ok += 1
      case .failure: failures.append(line)
      }
    }
    #expect(ok == 2)
    #expect(failures == [2])
  }

  @Test("writer creates 0600 files, counts lines and hashes what it wrote")
  func writer() throws {
    let dir = try TempDirectory()
    let path = dir.file("out.ndjson")
    let w = try NDJSONWriter(path: path)
    try w.write(["b": 2, "a": "é/"])
    try w.write(.array([1, 2]))
    let entry = try w.close()
    let bytes = try #require(FileManager.default.contents(atPath: path))
    #expect(String(decoding: bytes, as: UTF8.self) == "{\"a\":\"é/\",\"b\":2}\n[1,2]\n")
    #expect(entry.lines == 2)
    #expect(entry.sha256 == SHA256.hex([UInt8](bytes)))
    let attrs = try FileManager.default.attributesOfItem(atPath: path)
    #expect((attrs[.posixPermissions] as? Int) == 0o600)
    #expect(throws: StagingError.self) { try NDJSONWriter(path: path) }  // never overwrites
  }

  @Test("many buffers handed to the background writer arrive whole and in order, checksum included")
  func writerAcrossManyBuffers() throws {
    let dir = try TempDirectory()
    let path = dir.file("big.ndjson")
    let w = try NDJSONWriter(path: path)
    var rng = SplitMix64(seed: 11)
    for i in 0..<60_000 {
      let pad = String(repeating: "y", count: Int(rng.next() % 200))
      try w.writeLine(Array("{\"i\":\(i),\"p\":\"\(pad)\"}".utf8))
    }
    let entry = try w.close()
    #expect(try w.close() == entry)  // closing again gives the same entry
    let bytes = try #require(FileManager.default.contents(atPath: path))
    #expect(bytes.count > 5 << 20)  // several 1 MiB buffers went through the worker
    #expect(entry.bytes == Int64(bytes.count))
    #expect(entry.lines == 60_000)
    #expect(entry.sha256 == SHA256.hex([UInt8](bytes)))
    var n = 0
    try NDJSONReader(path: path).forEachValue { result, _ in
      let v = try result.get()
      #expect(v["i"]?.int64Value == Int64(n))
      n += 1
    }
    #expect(n == 60_000)
  }
}
