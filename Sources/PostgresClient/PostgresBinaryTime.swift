/// PostgreSQL's binary `timestamp`/`timestamptz`/`date` values turned back into the exact text the
/// server prints in the sessions this tool opens (`TimeZone` UTC, `DateStyle` ISO; see
/// `PostgresConnection.connect`), so a binary-format extract writes the same bytes as a text one.
///
/// Binary forms: microseconds (Int64) and days (Int32) since 2000-01-01, big-endian; the largest and
/// smallest values are `infinity` and `-infinity`. Text forms (PostgreSQL `EncodeDateTime` /
/// `EncodeDateOnly`): `YYYY-MM-DD HH:MM:SS[.ffffff without trailing zeros][+00][ BC]`, the year with
/// at least four digits, BC years counted from 1 (astronomical year 0 is `0001 … BC`).
enum PostgresBinaryTime {
  static let microsecondsPerDay: Int64 = 86_400_000_000
  /// 1970-01-01 → 2000-01-01.
  static let daysFrom1970To2000: Int64 = 10_957

  /// A big-endian two's-complement integer of 2, 4 or 8 bytes (int2/int4/date, int8/timestamp).
  static func bigEndian(_ v: UnsafeRawBufferPointer) -> Int64 {
    var u: UInt64 = 0
    for b in v { u = u << 8 | UInt64(b) }
    switch v.count {
    case 2: return Int64(Int16(bitPattern: UInt16(truncatingIfNeeded: u)))
    case 4: return Int64(Int32(bitPattern: UInt32(truncatingIfNeeded: u)))
    default: return Int64(bitPattern: u)
    }
  }

  /// Text of a binary timestamp (`withZone`: timestamptz, printed with `+00`).
  static func timestampText(_ v: UnsafeRawBufferPointer, withZone: Bool) -> [UInt8] {
    let us = bigEndian(v)
    if us == Int64.max { return Array("infinity".utf8) }
    if us == Int64.min { return Array("-infinity".utf8) }
    var days = us / microsecondsPerDay
    var time = us % microsecondsPerDay
    if time < 0 {
      time += microsecondsPerDay
      days -= 1
    }
    var out: [UInt8] = []
    out.reserveCapacity(40)
    let bc = appendDate(days: days, into: &out)
    out.append(UInt8(ascii: " "))
    let seconds = time / 1_000_000
    let fraction = time % 1_000_000
    appendTwo(seconds / 3600, into: &out)
    out.append(UInt8(ascii: ":"))
    appendTwo(seconds / 60 % 60, into: &out)
    out.append(UInt8(ascii: ":"))
    appendTwo(seconds % 60, into: &out)
    if fraction != 0 {
      out.append(UInt8(ascii: "."))
      var digits = Array(String(fraction).utf8)
      while digits.count < 6 { digits.insert(UInt8(ascii: "0"), at: 0) }
      while digits.last == UInt8(ascii: "0") { digits.removeLast() }
      out.append(contentsOf: digits)
    }
    if withZone { out.append(contentsOf: Array("+00".utf8)) }
    if bc { out.append(contentsOf: Array(" BC".utf8)) }
    return out
  }

  /// The JSON string `RowJSONEncoder` writes for a timestamp in the years 1–9999 (timestamptz or
  /// not, both end in `+00:00`), written straight into `out` without the text form; false (nothing
  /// written) for other values, which take the text path.
  @inline(__always)
  static func writeTimestampJSON(_ v: UnsafeRawBufferPointer, into out: inout [UInt8]) -> Bool {
    let us = bigEndian(v)
    // 0001-01-01 and 10000-01-01 in microseconds from 2000-01-01.
    guard us >= -63_082_281_600_000_000, us < 252_455_616_000_000_000 else { return false }
    var days = us / microsecondsPerDay
    var time = us % microsecondsPerDay
    if time < 0 {
      time += microsecondsPerDay
      days -= 1
    }
    let (year, month, day) = civil(days: days)
    let seconds = time / 1_000_000
    var fraction = time % 1_000_000
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 40) { b in
      func two(_ i: Int, _ n: Int64) {
        b[i] = UInt8(48 + n / 10)
        b[i + 1] = UInt8(48 + n % 10)
      }
      b[0] = 0x22
      b[1] = UInt8(48 + year / 1000)
      b[2] = UInt8(48 + year / 100 % 10)
      two(3, year % 100)
      b[5] = 0x2D
      two(6, month)
      b[8] = 0x2D
      two(9, day)
      b[11] = UInt8(ascii: "T")
      two(12, seconds / 3600)
      b[14] = 0x3A
      two(15, seconds / 60 % 60)
      b[17] = 0x3A
      two(18, seconds % 60)
      var n = 20
      if fraction != 0 {
        b[n] = 0x2E
        var digits = 6
        while fraction % 10 == 0 {
          fraction /= 10
          digits -= 1
        }
        for k in stride(from: digits, to: 0, by: -1) {
          b[n + k] = UInt8(48 + fraction % 10)
          fraction /= 10
        }
        n += digits + 1
      }
      for c in "+00:00\"".utf8 {
        b[n] = c
        n += 1
      }
      out.append(contentsOf: UnsafeBufferPointer(rebasing: b[0..<n]))
    }
    return true
  }

  /// Year, month, day of a day counted from 2000-01-01 (astronomical years: 0 = 1 BC).
  @inline(__always)
  static func civil(days: Int64) -> (Int64, Int64, Int64) {
    let z = days + daysFrom1970To2000 + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let day = doy - (153 * mp + 2) / 5 + 1
    let month = mp < 10 ? mp + 3 : mp - 9
    return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
  }

  /// Text of a binary date.
  static func dateText(_ v: UnsafeRawBufferPointer) -> [UInt8] {
    let d = bigEndian(v)
    if d == Int64(Int32.max) { return Array("infinity".utf8) }
    if d == Int64(Int32.min) { return Array("-infinity".utf8) }
    var out: [UInt8] = []
    if appendDate(days: d, into: &out) { out.append(contentsOf: Array(" BC".utf8)) }
    return out
  }

  /// `YYYY-MM-DD` of a day counted from 2000-01-01 (proleptic Gregorian, H. Hinnant's
  /// `civil_from_days`); true when the date is BC (the year is then written as 1 − year).
  @discardableResult
  static func appendDate(days: Int64, into out: inout [UInt8]) -> Bool {
    var (year, month, day) = civil(days: days)
    let bc = year <= 0
    if bc { year = 1 - year }
    var y = Array(String(year).utf8)
    while y.count < 4 { y.insert(UInt8(ascii: "0"), at: 0) }
    out.append(contentsOf: y)
    out.append(UInt8(ascii: "-"))
    appendTwo(month, into: &out)
    out.append(UInt8(ascii: "-"))
    appendTwo(day, into: &out)
    return bc
  }

  @inline(__always)
  static func appendTwo(_ n: Int64, into out: inout [UInt8]) {
    out.append(UInt8(48 + n / 10))
    out.append(UInt8(48 + n % 10))
  }
}
