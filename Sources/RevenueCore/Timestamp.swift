/// A UTC instant with whole-second precision, written as `YYYY-MM-DDTHH:MM:SSZ` in staged files.
///
/// Parsing and formatting are hand-written (civil-from-days arithmetic) because they run once or twice
/// per record on the transform hot path, where Foundation's formatters are far too slow.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
  /// Seconds since 1970-01-01T00:00:00Z.
  public var seconds: Int64

  public init(seconds: Int64) { self.seconds = seconds }

  public static func < (a: Timestamp, b: Timestamp) -> Bool { a.seconds < b.seconds }

  /// `2026-03-01T10:15:22Z`.
  public var description: String { iso8601 }

  public var iso8601: String {
    let (y, m, d, hh, mm, ss) = components
    return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(hh, 2)):\(pad(mm, 2)):\(pad(ss, 2))Z"
  }

  /// `2026-03-01`.
  public var dateString: String {
    let (y, m, d, _, _, _) = components
    return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))"
  }

  public var components: (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
    let days = Timestamp.floorDiv(seconds, 86400)
    let rem = Int(seconds - days * 86400)
    let (y, m, d) = Timestamp.civil(fromDays: days)
    return (y, m, d, rem / 3600, (rem % 3600) / 60, rem % 60)
  }

  private func pad(_ v: Int, _ w: Int) -> String {
    let s = String(v)
    return s.count >= w ? s : String(repeating: "0", count: w - s.count) + s
  }

  /// Builds an instant from UTC calendar fields; nil for impossible dates. A leap second (`23:59:60`)
  /// is nil too: POSIX time, which these seconds count, has no leap seconds, and moving it to `:59`
  /// would silently change the record; a source value with one is rejected with its reason.
  public static func utc(_ year: Int, _ month: Int, _ day: Int, _ hour: Int = 0, _ minute: Int = 0, _ second: Int = 0)
    -> Timestamp?
  {
    guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
      (0...23).contains(hour), (0...59).contains(minute), (0...59).contains(second)
    else { return nil }
    let days = daysFromCivil(year, month, day)
    return Timestamp(seconds: days * 86400 + Int64(hour * 3600 + minute * 60 + second))
  }

  public static func isLeap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

  public static func daysIn(month: Int, year: Int) -> Int {
    switch month {
    case 2: return isLeap(year) ? 29 : 28
    case 4, 6, 9, 11: return 30
    default: return 31
    }
  }

  /// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
  public static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int64 {
    let y = Int64(m <= 2 ? y0 - 1 : y0)
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let mp = Int64((m + 9) % 12)
    let doy = (153 * mp + 2) / 5 + Int64(d) - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146097 + doe - 719468
  }

  public static func civil(fromDays z0: Int64) -> (Int, Int, Int) {
    let z = z0 + 719468
    let era = (z >= 0 ? z : z - 146096) / 146097
    let doe = z - era * 146097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
    let y = yoe + era * 400
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    return (Int(m <= 2 ? y + 1 : y), Int(m), Int(d))
  }

  // MARK: - Calendar arithmetic

  /// Adds calendar months, clamping the day to the target month's length (Jan 31 + 1 month = Feb 28/29).
  public func adding(months: Int) -> Timestamp {
    let c = components
    let total = c.year * 12 + (c.month - 1) + months
    let y = total >= 0 ? total / 12 : (total - 11) / 12
    let m = total - y * 12 + 1
    let d = min(c.day, Timestamp.daysIn(month: m, year: y))
    return Timestamp.utc(y, m, d, c.hour, c.minute, c.second)!
  }

  public func adding(days: Int) -> Timestamp { Timestamp(seconds: seconds + Int64(days) * 86400) }

  /// Adds `count` billing intervals.
  public func adding(_ unit: IntervalUnit, count: Int) -> Timestamp {
    switch unit {
    case .day: return adding(days: count)
    case .month: return adding(months: count)
    case .year: return adding(months: 12 * count)
    }
  }

  /// Midnight UTC of the same day.
  public var startOfDay: Timestamp { Timestamp(seconds: Timestamp.floorDiv(seconds, 86400) * 86400) }

  static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : (a - b + 1) / b }

  // MARK: - Parsing

  /// Parses the timestamp forms the sources use:
  /// `2026-03-01T10:15:22Z`, `…+02:00`, `…+0200`, `…+02`, fractional seconds, a space instead of `T`
  /// (Postgres text: `2026-11-24 23:01:00.84+00`), `2026-03-01 10:15` and a bare date `2026-03-01`.
  /// Text without an offset is UTC (ChartMogul's rule for offset-less timestamps).
  public static func parse(_ text: String) -> Timestamp? {
    if let parsed = text.utf8.withContiguousStorageIfAvailable({ parse(utf8: $0) }) { return parsed }
    return Array(text.utf8).withUnsafeBufferPointer { parse(utf8: $0) }
  }

  /// `parse` over UTF-8 bytes (the same rules; no copy of the text).
  public static func parse(utf8 text: UnsafeBufferPointer<UInt8>) -> Timestamp? {
    var count = text.count
    while count > 0, text[count - 1] == 0x20 || text[count - 1] == 0x0A || text[count - 1] == 0x0D { count -= 1 }
    let u = UnsafeBufferPointer(rebasing: text[0..<count])
    var i = 0
    func num(_ n: Int) -> Int? {
      guard i + n <= u.count else { return nil }
      var v = 0
      for k in 0..<n {
        let c = u[i + k]
        guard c >= 0x30 && c <= 0x39 else { return nil }
        v = v * 10 + Int(c - 0x30)
      }
      i += n
      return v
    }
    func expect(_ c: UInt8) -> Bool {
      guard i < u.count, u[i] == c else { return false }
      i += 1
      return true
    }
    guard let y = num(4), expect(0x2D), let mo = num(2), expect(0x2D), let d = num(2) else { return nil }
    var hh = 0
    var mi = 0
    var ss = 0
    if i < u.count && (u[i] == 0x54 || u[i] == 0x20 || u[i] == 0x74) {
      i += 1
      guard let h = num(2), expect(0x3A), let m = num(2) else { return nil }
      hh = h
      mi = m
      if expect(0x3A) {
        guard let s = num(2) else { return nil }
        ss = s
        if i < u.count && (u[i] == 0x2E || u[i] == 0x2C) {
          i += 1
          let fs = i
          while i < u.count && u[i] >= 0x30 && u[i] <= 0x39 { i += 1 }
          if i == fs { return nil }
        }
      }
    }
    var offset = 0
    if i < u.count {
      if u[i] == 0x5A || u[i] == 0x7A {
        i += 1
      } else if u[i] == 0x2B || u[i] == 0x2D {
        let sign = u[i] == 0x2D ? -1 : 1
        i += 1
        guard let oh = num(2) else { return nil }
        var om = 0
        if i < u.count {
          _ = expect(0x3A)
          guard let m = num(2) else { return nil }
          om = m
        }
        guard oh <= 18, om < 60 else { return nil }
        offset = sign * (oh * 3600 + om * 60)
      } else {
        return nil
      }
    }
    guard i == u.count, let base = Timestamp.utc(y, mo, d, hh, mi, ss) else { return nil }
    return Timestamp(seconds: base.seconds - Int64(offset))
  }
}

/// ChartMogul plan interval units (no `week`: a week is 7 days).
public enum IntervalUnit: String, Sendable, Hashable, Codable, CaseIterable {
  case day, month, year

  /// Accepts gateway spellings: `month`, `MONTH`, `monthly`, `week` (as 7 days is handled by callers).
  public init?(loose: String) {
    switch loose.lowercased() {
    case "day", "daily", "days": self = .day
    case "month", "monthly", "months": self = .month
    case "year", "yearly", "annual", "annually", "years": self = .year
    default: return nil
    }
  }
}
