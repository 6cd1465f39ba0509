import Foundation
import RevenueCore

#if canImport(Glibc)
  import Glibc
#endif

/// Reads an NDJSON file one line at a time in large chunks, never holding the whole file.
///
/// Lines are split on `\n` bytes (a trailing `\r` is dropped); blank lines are skipped but still
/// counted, so line numbers always match what an editor shows.
public final class NDJSONReader {
  public let path: String
  /// A line longer than this is an error rather than an unbounded allocation.
  public static let maxLineBytes = 64 * 1024 * 1024
  let chunkSize: Int

  public init(path: String, chunkSize: Int = 8 * 1024 * 1024) {
    self.path = path
    self.chunkSize = chunkSize
  }

  /// Calls `body` with each non-empty line's bytes (valid only during the call) and its 1-based number.
  /// With `section`, only that byte range is read, its first line numbered `firstLine` (a range
  /// starting where a line starts, see `FileSection`).
  public func forEachLine(
    section: (bytes: Range<Int64>, firstLine: Int)? = nil, _ body: (UnsafeRawBufferPointer, Int) throws -> Void
  ) throws {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw StagingError("cannot open \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var remaining = Int64.max
    var lineNumber = 0
    if let section {
      guard lseek(fd, off_t(section.bytes.lowerBound), SEEK_SET) == off_t(section.bytes.lowerBound) else {
        throw StagingError("cannot seek in \(path): \(String(cString: strerror(errno)))")
      }
      remaining = section.bytes.upperBound - section.bytes.lowerBound
      lineNumber = section.firstLine - 1
    }
    var buffer = [UInt8](repeating: 0, count: chunkSize)
    var filled = 0
    var eof = false
    while !eof {
      if filled == buffer.count {
        guard buffer.count < NDJSONReader.maxLineBytes else {
          throw StagingError("\(path): line \(lineNumber + 1) is longer than \(NDJSONReader.maxLineBytes) bytes")
        }
        buffer.append(contentsOf: [UInt8](repeating: 0, count: buffer.count))
      }
      let want = Int(min(Int64(buffer.count - filled), remaining))
      let n = want == 0 ? 0 : buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, want) }
      if n < 0 {
        if errno == EINTR { continue }
        throw StagingError("cannot read \(path): \(String(cString: strerror(errno)))")
      }
      if n == 0 { eof = true }
      filled += n
      remaining -= Int64(n)
      var consumed = 0
      try buffer.withUnsafeBytes { raw in
        let base = raw.baseAddress!
        while consumed < filled {
          let remaining = filled - consumed
          guard let nl = memchr(base + consumed, 0x0A, remaining) else {
            if eof {
              lineNumber += 1
              try emit(UnsafeRawBufferPointer(start: base + consumed, count: remaining), lineNumber, body)
              consumed = filled
            }
            break
          }
          let end = UnsafeRawPointer(nl) - base
          lineNumber += 1
          try emit(UnsafeRawBufferPointer(start: base + consumed, count: end - consumed), lineNumber, body)
          consumed = end + 1
        }
      }
      if consumed > 0 {
        if consumed < filled {
          buffer.withUnsafeMutableBytes { raw in
            _ = memmove(raw.baseAddress!, raw.baseAddress! + consumed, filled - consumed)
          }
        }
        filled -= consumed
      }
    }
  }

  @inline(__always)
  private func emit(
    _ line: UnsafeRawBufferPointer, _ number: Int, _ body: (UnsafeRawBufferPointer, Int) throws -> Void
  ) throws {
    var l = line
    if l.count > 0, l[l.count - 1] == 0x0D { l = UnsafeRawBufferPointer(rebasing: l[0..<(l.count - 1)]) }
    if l.isEmpty { return }
    // Whitespace-only lines count as blank.
    if l.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
    try body(l, number)
  }

  /// Parses each line as JSON. A line that is not valid JSON is passed as `.failure` so the caller can
  /// reject it with its line number and carry on.
  public func forEachValue(_ body: (Result<JSONValue, JSONParseError>, Int) throws -> Void) throws {
    try forEachLine { bytes, number in
      let result: Result<JSONValue, JSONParseError>
      do throws(JSONParseError) {
        result = .success(try JSONParser.parse(bytes))
      } catch {
        result = .failure(error)
      }
      try body(result, number)
    }
  }

  /// Counts non-blank lines (used for progress denominators when no manifest is available).
  public func countLines() throws -> Int {
    var n = 0
    try forEachLine { _, _ in n += 1 }
    return n
  }
}
