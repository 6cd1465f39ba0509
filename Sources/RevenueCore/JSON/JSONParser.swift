/// Why a JSON text could not be parsed, with the byte offset where parsing stopped.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
  public var offset: Int
  public var reason: String
  public init(offset: Int, reason: String) {
    self.offset = offset
    self.reason = reason
  }
  public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

/// A strict RFC 8259 parser working directly on UTF-8 bytes.
///
/// Written by hand because Foundation's decoders are several times slower on Linux (see
/// `reference/perf-baseline.md` §3). Strings must be valid UTF-8 (bad bytes are an error, never
/// silently replaced), escapes including surrogate pairs are decoded, and numbers keep their text.
public struct JSONParser {
  /// Maximum nesting depth; deeper input is rejected instead of exhausting the stack.
  public static let maxDepth = 256

  /// Parses one JSON document; trailing whitespace is allowed, anything else after it is an error.
  public static func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONParseError) -> JSONValue {
    var p = Cursor(bytes: bytes)
    p.skipWhitespace()
    let v = try p.parseValue(depth: 0)
    p.skipWhitespace()
    guard p.i == p.end else { throw JSONParseError(offset: p.i, reason: "unexpected data after the document") }
    return v
  }

  public static func parse(_ bytes: [UInt8]) throws(JSONParseError) -> JSONValue {
    do {
      return try bytes.withUnsafeBytes { buf in try parse(buf) }
    } catch let e as JSONParseError {
      throw e
    } catch {
      throw JSONParseError(offset: 0, reason: "\(error)")
    }
  }

  public static func parse(_ bytes: ArraySlice<UInt8>) throws(JSONParseError) -> JSONValue {
    do {
      return try bytes.withUnsafeBytes { buf in try parse(buf) }
    } catch let e as JSONParseError {
      throw e
    } catch {
      throw JSONParseError(offset: 0, reason: "\(error)")
    }
  }

  public static func parse(_ text: String) throws(JSONParseError) -> JSONValue {
    try parse(Array(text.utf8))
  }

  struct Cursor {
    let base: UnsafePointer<UInt8>?
    var i: Int = 0
    let end: Int

    init(bytes: UnsafeRawBufferPointer) {
      base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
      end = bytes.count
    }

    @inline(__always) func at(_ k: Int) -> UInt8 { base![k] }

    mutating func skipWhitespace() {
      while i < end {
        let c = at(i)
        if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { i += 1 } else { break }
      }
    }

    func fail(_ reason: String) -> JSONParseError { JSONParseError(offset: i, reason: reason) }

    mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
      guard i < end else { throw fail("unexpected end of input") }
      switch at(i) {
      case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
      case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
      case UInt8(ascii: "\""): return .string(try parseString())
      case UInt8(ascii: "t"):
        try literal("true")
        return .bool(true)
      case UInt8(ascii: "f"):
        try literal("false")
        return .bool(false)
      case UInt8(ascii: "n"):
        try literal("null")
        return .null
      case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
      default: throw fail("unexpected character '\(Character(Unicode.Scalar(at(i))))'")
      }
    }

    mutating func literal(_ word: StaticString) throws(JSONParseError) {
      let n = word.utf8CodeUnitCount
      guard end - i >= n else { throw fail("truncated literal") }
      let w = word.utf8Start
      for k in 0..<n where at(i + k) != w[k] { throw fail("invalid literal") }
      i += n
    }

    mutating func parseObject(depth: Int) throws(JSONParseError) -> JSONValue {
      guard depth <= JSONParser.maxDepth else { throw fail("nesting deeper than \(JSONParser.maxDepth)") }
      i += 1
      var fields: [JSONField] = []
      skipWhitespace()
      if i < end, at(i) == UInt8(ascii: "}") {
        i += 1
        return .object(JSONObject(fields))
      }
      while true {
        skipWhitespace()
        guard i < end, at(i) == UInt8(ascii: "\"") else { throw fail("expected a string key") }
        let key = try parseString()
        skipWhitespace()
        guard i < end, at(i) == UInt8(ascii: ":") else { throw fail("expected ':' after key") }
        i += 1
        skipWhitespace()
        let value = try parseValue(depth: depth)
        fields.append(JSONField(key, value))
        skipWhitespace()
        guard i < end else { throw fail("unterminated object") }
        let c = at(i)
        i += 1
        if c == UInt8(ascii: ",") { continue }
        if c == UInt8(ascii: "}") { return .object(JSONObject(fields)) }
        i -= 1
        throw fail("expected ',' or '}' in object")
      }
    }

    mutating func parseArray(depth: Int) throws(JSONParseError) -> JSONValue {
      guard depth <= JSONParser.maxDepth else { throw fail("nesting deeper than \(JSONParser.maxDepth)") }
      i += 1
      var items: [JSONValue] = []
      skipWhitespace()
      if i < end, at(i) == UInt8(ascii: "]") {
        i += 1
        return .array(items)
      }
      while true {
        skipWhitespace()
        items.append(try parseValue(depth: depth))
        skipWhitespace()
        guard i < end else { throw fail("unterminated array") }
        let c = at(i)
        i += 1
        if c == UInt8(ascii: ",") { continue }
        if c == UInt8(ascii: "]") { return .array(items) }
        i -= 1
        throw fail("expected ',' or ']' in array")
      }
    }

    mutating func parseNumber() throws(JSONParseError) -> String {
      let start = i
      if at(i) == UInt8(ascii: "-") { i += 1 }
      guard i < end else { throw fail("truncated number") }
      if at(i) == UInt8(ascii: "0") {
        i += 1
      } else if at(i) >= UInt8(ascii: "1") && at(i) <= UInt8(ascii: "9") {
        while i < end, isDigit(at(i)) { i += 1 }
      } else {
        throw fail("invalid number")
      }
      if i < end, at(i) == UInt8(ascii: ".") {
        i += 1
        guard i < end, isDigit(at(i)) else { throw fail("digit expected after decimal point") }
        while i < end, isDigit(at(i)) { i += 1 }
      }
      if i < end, at(i) == UInt8(ascii: "e") || at(i) == UInt8(ascii: "E") {
        i += 1
        if i < end, at(i) == UInt8(ascii: "+") || at(i) == UInt8(ascii: "-") { i += 1 }
        guard i < end, isDigit(at(i)) else { throw fail("digit expected in exponent") }
        while i < end, isDigit(at(i)) { i += 1 }
      }
      return String(decoding: UnsafeBufferPointer(start: base! + start, count: i - start), as: UTF8.self)
    }

    @inline(__always) func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    /// Parses a string starting at the opening quote; validates UTF-8 and decodes escapes.
    mutating func parseString() throws(JSONParseError) -> String {
      i += 1
      let start = i
      // Fast path: no escapes.
      while i < end {
        let c = at(i)
        if c == UInt8(ascii: "\"") {
          let buf = UnsafeBufferPointer(start: base! + start, count: i - start)
          i += 1
          if let s = String(validating: buf, as: UTF8.self) { return s }
          throw JSONParseError(offset: start, reason: "string is not valid UTF-8")
        }
        if c == UInt8(ascii: "\\") { break }
        if c < 0x20 { throw fail("control character in string") }
        i += 1
      }
      guard i < end else { throw JSONParseError(offset: start - 1, reason: "unterminated string") }
      // Slow path: copy with escapes decoded.
      var out = [UInt8](UnsafeBufferPointer(start: base! + start, count: i - start))
      while i < end {
        let c = at(i)
        if c == UInt8(ascii: "\"") {
          i += 1
          if let s = String(validating: out, as: UTF8.self) { return s }
          throw JSONParseError(offset: start, reason: "string is not valid UTF-8")
        }
        if c < 0x20 { throw fail("control character in string") }
        if c != UInt8(ascii: "\\") {
          out.append(c)
          i += 1
          continue
        }
        i += 1
        guard i < end else { break }
        let e = at(i)
        i += 1
        switch e {
        case UInt8(ascii: "\""): out.append(0x22)
        case UInt8(ascii: "\\"): out.append(0x5C)
        case UInt8(ascii: "/"): out.append(0x2F)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
          var scalar = try hex4()
          if scalar >= 0xD800 && scalar <= 0xDBFF {
            guard end - i >= 6, at(i) == UInt8(ascii: "\\"), at(i + 1) == UInt8(ascii: "u") else {
              throw fail("unpaired high surrogate")
            }
            i += 2
            let low = try hex4()
            guard low >= 0xDC00 && low <= 0xDFFF else { throw fail("invalid low surrogate") }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
          } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
            throw fail("unpaired low surrogate")
          }
          guard let u = Unicode.Scalar(scalar) else { throw fail("invalid unicode escape") }
          out.append(contentsOf: UTF8.encode(u)!)
        default:
          throw fail("invalid escape '\\\(Character(Unicode.Scalar(e)))'")
        }
      }
      throw JSONParseError(offset: start - 1, reason: "unterminated string")
    }

    mutating func hex4() throws(JSONParseError) -> UInt32 {
      guard end - i >= 4 else { throw fail("truncated unicode escape") }
      var v: UInt32 = 0
      for _ in 0..<4 {
        let c = at(i)
        let d: UInt32
        switch c {
        case 0x30...0x39: d = UInt32(c - 0x30)
        case 0x41...0x46: d = UInt32(c - 0x41 + 10)
        case 0x61...0x66: d = UInt32(c - 0x61 + 10)
        default: throw fail("invalid hex digit in unicode escape")
        }
        v = v << 4 | d
        i += 1
      }
      return v
    }
  }
}
