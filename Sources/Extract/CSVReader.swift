import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// One CSV row: its fields, the physical line it starts on, and why it is malformed (nil when fine).
public struct CSVRow: Sendable {
  public var fields: [String]
  public var line: Int
  public var problem: String?
}

/// A file-level CSV failure (cannot open or read): names the file and line.
public struct CSVError: Error, Sendable, CustomStringConvertible {
  public var path: String
  public var line: Int?
  public var message: String
  public var description: String { line.map { "\(path):\($0): \(message)" } ?? "\(path): \(message)" }
}

/// Streaming RFC 4180 reader: a UTF-8 BOM, CRLF, LF or CR line ends, quoted fields with commas,
/// doubled quotes and line breaks. Memory is bounded by one row (`maxRowBytes`), never the file.
///
/// Malformed rows are reported, not fatal, so a caller can reject them and continue:
/// a character after a closing quote (`"ab"c`), a quoted field still open at end of file, a field that
/// is not valid UTF-8, a row longer than `maxRowBytes` (its bytes are dropped as they are read, so
/// memory stays bounded, and reading goes on with the next row). A quote inside an unquoted field (`5" screen`) is kept as text. Blank lines
/// between rows are skipped. Line numbers are physical lines, so they match an editor.
public final class CSVReader {
  public let path: String
  public let maxRowBytes: Int
  let chunkSize: Int

  public init(path: String, maxRowBytes: Int = 4 << 20, chunkSize: Int = 1 << 20) {
    self.path = path
    self.maxRowBytes = maxRowBytes
    self.chunkSize = chunkSize
  }

  static let bom: [UInt8] = [0xEF, 0xBB, 0xBF]

  private enum State { case fieldStart, unquoted, quoted, quoteInQuoted }

  /// Calls `body` for every row in order.
  public func forEachRow(_ body: (CSVRow) throws -> Void) throws {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else {
      throw CSVError(path: path, line: nil, message: "cannot be opened: \(String(cString: strerror(errno)))")
    }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: chunkSize)
    var state = State.fieldStart
    var field: [UInt8] = []
    var fields: [[UInt8]] = []
    var rowBytes = 0
    var line = 1
    var rowLine = 1
    var problem: String? = nil
    var afterCR = false
    var bomAt = 0  // bytes of a leading UTF-8 BOM matched so far (3 = done or none)
    var inRow = false
    var oversize = false

    func finishRow() throws {
      fields.append(field)
      field.removeAll(keepingCapacity: true)
      var texts: [String] = []
      texts.reserveCapacity(fields.count)
      var p = problem
      for (i, f) in fields.enumerated() {
        if let s = String(validating: f, as: UTF8.self) {
          texts.append(s)
        } else {
          texts.append(String(decoding: f, as: UTF8.self))
          if p == nil { p = "field \(i + 1) is not valid UTF-8" }
        }
      }
      let isBlank = fields.count == 1 && fields[0].isEmpty && p == nil
      fields.removeAll(keepingCapacity: true)
      problem = nil
      oversize = false
      rowBytes = 0
      inRow = false
      state = .fieldStart
      if !isBlank { try body(CSVRow(fields: texts, line: rowLine, problem: p)) }
    }

    while true {
      let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
      if n < 0 {
        if errno == EINTR { continue }
        throw CSVError(path: path, line: line, message: "cannot be read: \(String(cString: strerror(errno)))")
      }
      if n == 0 { break }
      var i = 0
      while bomAt < 3 && i < n {
        if buffer[i] == CSVReader.bom[bomAt] {
          bomAt += 1
          i += 1
        } else {
          bomAt = 3
        }
      }
      while i < n {
        let b = buffer[i]
        i += 1
        if afterCR {
          afterCR = false
          if b == 0x0A { continue }  // CRLF ends one line
        }
        if !inRow {
          inRow = true
          rowLine = line
        }
        rowBytes += 1
        if rowBytes > maxRowBytes && !oversize {
          oversize = true
          problem = "the row is longer than \(maxRowBytes) bytes (an unterminated quote?); it was not read"
        }
        if oversize {
          // Keep only the parser state: the bytes of an oversize row are dropped as they come.
          if !field.isEmpty { field.removeAll(keepingCapacity: true) }
          if !fields.isEmpty { fields.removeAll(keepingCapacity: true) }
        }
        switch state {
        case .fieldStart, .unquoted:
          switch b {
          case 0x22 where state == .fieldStart:  // opening quote
            state = .quoted
          case 0x2C:
            fields.append(field)
            field.removeAll(keepingCapacity: true)
            state = .fieldStart
          case 0x0A:
            try finishRow()
            line += 1
          case 0x0D:
            try finishRow()
            line += 1
            afterCR = true
          default:
            field.append(b)
            state = .unquoted
          }
        case .quoted:
          if b == 0x22 {
            state = .quoteInQuoted
          } else {
            if b == 0x0A { line += 1 }
            field.append(b)
          }
        case .quoteInQuoted:
          switch b {
          case 0x22:  // doubled quote
            field.append(0x22)
            state = .quoted
          case 0x2C:
            fields.append(field)
            field.removeAll(keepingCapacity: true)
            state = .fieldStart
          case 0x0A:
            try finishRow()
            line += 1
          case 0x0D:
            try finishRow()
            line += 1
            afterCR = true
          default:
            if problem == nil {
              problem =
                "field \(fields.count + 1) has text after its closing quote (quotes inside a quoted field must be doubled)"
            }
            field.append(b)
            state = .unquoted
          }
        }
      }
    }
    if inRow {
      if state == .quoted {
        problem = "a quoted field starting in this row is never closed (unterminated quote runs to the end of the file)"
      }
      try finishRow()
    }
  }
}
