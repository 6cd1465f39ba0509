import RevenueCore

/// Writes streamed rows as JSON objects straight from libpq's text output, without building
/// `JSONValue`s (perf-baseline.md §2: plain columns + JSON written in Swift is ~2.7× `row_to_json`).
///
/// Conversion by column type OID:
/// - `int2/int4/int8/oid/numeric/float4/float8` → JSON numbers, text kept exactly (`NaN`/`Infinity` → strings);
/// - `bool` → `true`/`false`;
/// - `timestamptz` → ISO 8601 text with offset (`2026-11-24 23:01:00.84+00` → `2026-11-24T23:01:00.84+00:00`),
///   `timestamp` (no zone) → the same with `+00:00` (offset-less times are UTC);
/// - `json`/`jsonb` → the document embedded (parsed with `JSONParser`, re-written key-sorted);
/// - anything else (text, uuid, char, date …) → JSON string; SQL NULL → `null`.
/// Keys are written sorted by their UTF-8 bytes, so a line is byte-identical to `JSONWriter`'s output
/// for the same value.
///
/// Columns in binary format (`PostgresColumn.binary`, only the `binaryTypes`) are written exactly as
/// their text form would be: integers in decimal, uuids in lower-case hex, timestamps and dates
/// rebuilt as PostgreSQL prints them in a UTC, ISO session (`infinity`, BC and 5-digit years
/// included) and then converted as above, `jsonb` without its version byte.
public struct RowJSONEncoder: Sendable {
  enum Kind: Sendable {
    case number, bool, timestamptz, timestamp, json, string
    case int2Binary, int4Binary, int8Binary, boolBinary, uuidBinary, timestamptzBinary, timestampBinary, dateBinary
    case jsonbBinary
  }

  /// Types whose binary form this encoder turns into the same JSON as their text form.
  public static let binaryTypes: Set<UInt32> = [
    PostgresType.int2, PostgresType.int4, PostgresType.int8, PostgresType.bool, PostgresType.text, PostgresType.varchar,
    PostgresType.bpchar, PostgresType.name, PostgresType.uuid, PostgresType.timestamptz, PostgresType.timestamp,
    PostgresType.date, PostgresType.json, PostgresType.jsonb,
  ]

  public let columns: [PostgresColumn]
  /// Column indexes in key order, with the pre-escaped `"key":` bytes.
  let order: [(index: Int, key: [UInt8], kind: Kind)]

  public init(columns: [PostgresColumn]) {
    self.columns = columns
    var entries: [(index: Int, key: [UInt8], kind: Kind)] = []
    for (i, c) in columns.enumerated() {
      var key: [UInt8] = []
      JSONWriter.writeString(c.name, into: &key)
      key.append(UInt8(ascii: ":"))
      entries.append((i, key, c.binary ? RowJSONEncoder.binaryKind(of: c.typeOID) : RowJSONEncoder.kind(of: c.typeOID)))
    }
    order = entries.sorted { columns[$0.index].name.utf8.lexicographicallyPrecedes(columns[$1.index].name.utf8) }
    var bytes: [UInt8] = []
    var plan: [Step] = []
    for e in order {
      plan.append(
        Step(column: Int32(e.index), keyStart: Int32(bytes.count), keyCount: Int32(e.key.count), kind: e.kind))
      bytes += e.key
    }
    keyBytes = bytes
    steps = plan
  }

  /// `order` flattened for the per-row loop: every `"key":` back to back in `keyBytes` (one buffer,
  /// so the loop neither retains nor releases per column).
  struct Step: Sendable {
    var column: Int32, keyStart: Int32, keyCount: Int32
    var kind: Kind
  }
  let keyBytes: [UInt8]
  let steps: [Step]

  static func kind(of oid: UInt32) -> Kind {
    switch oid {
    case PostgresType.int2, PostgresType.int4, PostgresType.int8, PostgresType.oid, PostgresType.numeric,
      PostgresType.float4, PostgresType.float8:
      return .number
    case PostgresType.bool: return .bool
    case PostgresType.timestamptz: return .timestamptz
    case PostgresType.timestamp: return .timestamp
    case PostgresType.json, PostgresType.jsonb: return .json
    default: return .string
    }
  }

  /// The kind of a binary column (text-like types, `json`: their bytes are the text form).
  static func binaryKind(of oid: UInt32) -> Kind {
    switch oid {
    case PostgresType.int2: return .int2Binary
    case PostgresType.int4: return .int4Binary
    case PostgresType.int8: return .int8Binary
    case PostgresType.bool: return .boolBinary
    case PostgresType.uuid: return .uuidBinary
    case PostgresType.timestamptz: return .timestamptzBinary
    case PostgresType.timestamp: return .timestampBinary
    case PostgresType.date: return .dateBinary
    case PostgresType.jsonb: return .jsonbBinary
    case PostgresType.json: return .json
    default: return .string
    }
  }

  /// Appends the row as one JSON object to `out`.
  public func write(_ row: borrowing PostgresRow, into out: inout [UInt8]) throws(PostgresError) {
    out.append(UInt8(ascii: "{"))
    var badJSON: Int? = nil
    keyBytes.withUnsafeBufferPointer { keys in
      steps.withUnsafeBufferPointer { steps in
        for (n, step) in steps.enumerated() {
          if n > 0 { out.append(UInt8(ascii: ",")) }
          out.append(
            contentsOf: UnsafeBufferPointer(rebasing: keys[Int(step.keyStart)..<Int(step.keyStart + step.keyCount)]))
          let column = Int(step.column)
          if row.isNull(column) {
            out.append(contentsOf: RowJSONEncoder.null)
            continue
          }
          var v = row.bytes(column)
          switch step.kind {
          case .int2Binary, .int4Binary, .int8Binary:
            JSONWriter.writeInt(PostgresBinaryTime.bigEndian(v), into: &out)
            continue
          case .boolBinary:
            out.append(contentsOf: v.first == 1 ? RowJSONEncoder.trueBytes : RowJSONEncoder.falseBytes)
            continue
          case .uuidBinary:
            RowJSONEncoder.writeUUID(v, into: &out)
            continue
          case .timestamptzBinary, .timestampBinary:
            if PostgresBinaryTime.writeTimestampJSON(v, into: &out) { continue }
            let zone = step.kind == .timestamptzBinary
            let text = PostgresBinaryTime.timestampText(v, withZone: zone)
            text.withUnsafeBytes { RowJSONEncoder.writeTimestamp($0, assumeUTC: !zone, into: &out) }
            continue
          case .dateBinary:
            let text = PostgresBinaryTime.dateText(v)
            text.withUnsafeBytes { RowJSONEncoder.writeString($0, into: &out) }
            continue
          case .jsonbBinary:
            // Version 1 is the only jsonb binary format: the rest is the document's text.
            if v.first == 1 { v = UnsafeRawBufferPointer(rebasing: v[1...]) }
          default: break
          }
          switch step.kind {
          case .string: RowJSONEncoder.writeString(v, into: &out)
          case .number:
            if RowJSONEncoder.isJSONNumber(v) {
              out.append(contentsOf: v)
            } else {
              RowJSONEncoder.writeString(v, into: &out)
            }
          case .bool:
            out.append(contentsOf: v.first == UInt8(ascii: "t") ? RowJSONEncoder.trueBytes : RowJSONEncoder.falseBytes)
          case .timestamptz: RowJSONEncoder.writeTimestamp(v, assumeUTC: false, into: &out)
          case .timestamp: RowJSONEncoder.writeTimestamp(v, assumeUTC: true, into: &out)
          case .json, .jsonbBinary:
            if SortedJSONCopy.write(v, into: &out) { continue }
            guard let value = try? JSONParser.parse(v) else {
              badJSON = column
              return
            }
            JSONWriter.write(value, into: &out)
          default: break
          }
        }
      }
    }
    if let column = badJSON {
      var message = "cannot be parsed"
      do { _ = try JSONParser.parse(row.bytes(column)) } catch { message = "\(error)" }
      throw PostgresError(
        kind: .query, message: "column '\(columns[column].name)' holds JSON that cannot be parsed: \(message)")
    }
    out.append(UInt8(ascii: "}"))
  }

  /// 16 bytes as a quoted `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (uuid_out's lower-case form).
  static func writeUUID(_ v: UnsafeRawBufferPointer, into out: inout [UInt8]) {
    guard v.count == 16 else {
      writeString(v, into: &out)
      return
    }
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 38) { b in
      let digits: StaticString = "0123456789abcdef"
      let d = digits.utf8Start
      b[0] = 0x22
      var n = 1
      for i in 0..<16 {
        if i == 4 || i == 6 || i == 8 || i == 10 {
          b[n] = 0x2D
          n += 1
        }
        b[n] = d[Int(v[i] >> 4)]
        b[n + 1] = d[Int(v[i] & 0xF)]
        n += 2
      }
      b[37] = 0x22
      out.append(contentsOf: UnsafeBufferPointer(rebasing: b[0..<38]))
    }
  }

  static let null: [UInt8] = Array("null".utf8)
  static let trueBytes: [UInt8] = Array("true".utf8)
  static let falseBytes: [UInt8] = Array("false".utf8)
  static let hex: [UInt8] = Array("0123456789abcdef".utf8)

  /// JSON number syntax: `-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?`.
  static func isJSONNumber(_ v: UnsafeRawBufferPointer) -> Bool {
    var i = 0
    let n = v.count
    func digits() -> Int {
      let s = i
      while i < n, v[i] >= 0x30, v[i] <= 0x39 { i += 1 }
      return i - s
    }
    if i < n, v[i] == UInt8(ascii: "-") { i += 1 }
    guard i < n else { return false }
    if v[i] == UInt8(ascii: "0") { i += 1 } else if digits() == 0 { return false }
    if i < n, v[i] == UInt8(ascii: ".") {
      i += 1
      if digits() == 0 { return false }
    }
    if i < n, v[i] == UInt8(ascii: "e") || v[i] == UInt8(ascii: "E") {
      i += 1
      if i < n, v[i] == UInt8(ascii: "+") || v[i] == UInt8(ascii: "-") { i += 1 }
      if digits() == 0 { return false }
    }
    return i == n
  }

  /// Writes a quoted JSON string from UTF-8 bytes (same escapes as `JSONWriter.writeString`).
  static func writeString(_ v: UnsafeRawBufferPointer, into out: inout [UInt8]) {
    out.append(UInt8(ascii: "\""))
    var runStart = 0
    var i = 0
    let n = v.count
    while i < n {
      let c = v[i]
      if c < 0x20 || c == 0x22 || c == 0x5C {
        if i > runStart { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: v[runStart..<i])) }
        runStart = i + 1
        switch c {
        case 0x22:
          out.append(0x5C)
          out.append(0x22)
        case 0x5C:
          out.append(0x5C)
          out.append(0x5C)
        case 0x0A:
          out.append(0x5C)
          out.append(UInt8(ascii: "n"))
        case 0x0D:
          out.append(0x5C)
          out.append(UInt8(ascii: "r"))
        case 0x09:
          out.append(0x5C)
          out.append(UInt8(ascii: "t"))
        case 0x08:
          out.append(0x5C)
          out.append(UInt8(ascii: "b"))
        case 0x0C:
          out.append(0x5C)
          out.append(UInt8(ascii: "f"))
        default:
          out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(c >> 4)], hex[Int(c & 0xF)]])
        }
      }
      i += 1
    }
    if runStart < n { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: v[runStart..<n])) }
    out.append(UInt8(ascii: "\""))
  }

  /// `YYYY-MM-DD HH:MM:SS[.f…][±HH[:MM[:SS]]]` (DateStyle ISO) → `YYYY-MM-DDTHH:MM:SS[.f…]±HH:MM`.
  /// Anything else (`infinity`, BC dates, 5-digit years, second-precision offsets) is written as text.
  static func writeTimestamp(_ v: UnsafeRawBufferPointer, assumeUTC: Bool, into out: inout [UInt8]) {
    let n = v.count
    guard n >= 19, v[4] == 0x2D, v[7] == 0x2D, v[10] == 0x20, v[13] == 0x3A, v[16] == 0x3A else {
      writeString(v, into: &out)
      return
    }
    // End of the time part: digits, ':' and '.' after position 11.
    var t = 11
    while t < n, (v[t] >= 0x30 && v[t] <= 0x39) || v[t] == 0x3A || v[t] == 0x2E { t += 1 }
    let offsetLength = n - t
    if assumeUTC {
      guard offsetLength == 0 else {
        writeString(v, into: &out)
        return
      }
    } else {
      func digit(_ k: Int) -> Bool { v[k] >= 0x30 && v[k] <= 0x39 }
      guard offsetLength == 3 || offsetLength == 6, v[t] == 0x2B || v[t] == 0x2D, digit(t + 1), digit(t + 2),
        offsetLength == 3 || (v[t + 3] == 0x3A && digit(t + 4) && digit(t + 5))
      else {
        writeString(v, into: &out)
        return
      }
    }
    out.append(UInt8(ascii: "\""))
    out.append(contentsOf: UnsafeRawBufferPointer(rebasing: v[0..<10]))
    out.append(UInt8(ascii: "T"))
    out.append(contentsOf: UnsafeRawBufferPointer(rebasing: v[11..<n]))
    if assumeUTC {
      out.append(contentsOf: RowJSONEncoder.utcOffset)
    } else if offsetLength == 3 {
      out.append(contentsOf: RowJSONEncoder.zeroMinutes)
    }
    out.append(UInt8(ascii: "\""))
  }

  static let utcOffset: [UInt8] = Array("+00:00".utf8)
  static let zeroMinutes: [UInt8] = Array(":00".utf8)
}
