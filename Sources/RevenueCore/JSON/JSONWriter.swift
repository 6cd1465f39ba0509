/// Writes JSON deterministically: object keys sorted by their UTF-8 bytes, no insignificant
/// whitespace, `/` never escaped, non-ASCII written as UTF-8. Equal values always give equal bytes,
/// which is what makes reruns of a stage byte-identical.
public struct JSONWriter {
  public init() {}

  /// Serialises `value` on one line (no trailing newline).
  public static func bytes(_ value: JSONValue, sortKeys: Bool = true) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(256)
    write(value, into: &out, sortKeys: sortKeys)
    return out
  }

  public static func string(_ value: JSONValue, sortKeys: Bool = true) -> String {
    String(decoding: bytes(value, sortKeys: sortKeys), as: UTF8.self)
  }

  /// Appends `value` to `out`.
  public static func write(_ value: JSONValue, into out: inout [UInt8], sortKeys: Bool = true) {
    switch value {
    case .null: out.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
    case .bool(let b): out.append(contentsOf: b ? Array("true".utf8) : Array("false".utf8))
    case .number(let n): out.append(contentsOf: n.utf8)
    case .string(let s): writeString(s, into: &out)
    case .array(let items):
      out.append(UInt8(ascii: "["))
      for (k, item) in items.enumerated() {
        if k > 0 { out.append(UInt8(ascii: ",")) }
        write(item, into: &out, sortKeys: sortKeys)
      }
      out.append(UInt8(ascii: "]"))
    case .object(let obj):
      out.append(UInt8(ascii: "{"))
      let fields = sortKeys ? obj.fields.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) } : obj.fields
      for (k, f) in fields.enumerated() {
        if k > 0 { out.append(UInt8(ascii: ",")) }
        writeString(f.key, into: &out)
        out.append(UInt8(ascii: ":"))
        write(f.value, into: &out, sortKeys: sortKeys)
      }
      out.append(UInt8(ascii: "}"))
    }
  }

  private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

  /// Appends an integer in decimal (a JSON number), without allocating.
  @inlinable
  public static func writeInt(_ v: Int64, into out: inout [UInt8]) {
    if v == 0 {
      out.append(0x30)
      return
    }
    var n = v.magnitude
    if v < 0 { out.append(0x2D) }
    var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for the 20 digits of UInt64.max
    withUnsafeMutableBytes(of: &digits) { b in
      var i = 24
      while n > 0 {
        i -= 1
        b[i] = UInt8(n % 10) + 0x30
        n /= 10
      }
      out.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[i..<24]))
    }
  }

  /// Appends a quoted, escaped JSON string.
  public static func writeString(_ s: String, into out: inout [UInt8]) {
    out.append(UInt8(ascii: "\""))
    var s = s
    s.withUTF8 { buf in
      var runStart = 0
      for (i, c) in buf.enumerated() where c < 0x20 || c == 0x22 || c == 0x5C {
        if i > runStart { out.append(contentsOf: UnsafeBufferPointer(rebasing: buf[runStart..<i])) }
        runStart = i + 1
        switch c {
        case 0x22: out.append(contentsOf: [0x5C, 0x22])
        case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
        case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
        case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
        case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
        case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
        case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
        default:
          out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(c >> 4)], hex[Int(c & 0xF)]])
        }
      }
      if runStart < buf.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: buf[runStart...])) }
    }
    out.append(UInt8(ascii: "\""))
  }
}

extension JSONValue: CustomStringConvertible {
  /// Compact, key-sorted JSON text.
  public var description: String { JSONWriter.string(self) }
}
