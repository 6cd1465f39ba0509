import Foundation
import RevenueCore
import TransformRules

/// Schema-aware fast path for the hot kinds (`app.transaction`, `app.refund`): reads the staged
/// line's bytes straight into an `AppTransactionRow` without building a `JSONValue` tree.
///
/// Exactness rule: it either returns exactly what `JSONParser` + `AppTransactionRow(_:)` would give,
/// or nil (the caller then takes the generic path). The whole line is validated as strictly as
/// `JSONParser` does (UTF-8, control characters, numbers, literals, nesting); any string holding a
/// backslash escape, and any nested value it needs (`metadata`), is decoded by `JSONParser` itself.
/// Duplicate keys resolve like the generic path: first `kind`/`record` in the envelope, last
/// occurrence within the record. Tested against the generic path on fixtures and fuzzed input.
enum AppTransactionScanner {
  struct Result {
    var isRefund: Bool
    var row: AppTransactionRow
  }

  static func scan(_ bytes: UnsafeRawBufferPointer) -> Result? {
    guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
    var s = Scanner(p: base, end: bytes.count)
    guard let e = try? s.envelope(decodeRecord: true), let k = e.kind, let row = e.row else { return nil }
    return Result(isRefund: k == .refund, row: row)
  }

  enum Kind { case transaction, refund }
  struct Fail: Error {}

  struct Scanner {
    let p: UnsafePointer<UInt8>
    let end: Int
    var i = 0

    init(p: UnsafePointer<UInt8>, end: Int) {
      self.p = p
      self.end = end
    }

    @inline(__always) mutating func ws() {
      while i < end {
        let c = p[i]
        if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { i += 1 } else { break }
      }
    }

    @inline(__always) mutating func expect(_ c: UInt8) throws(Fail) {
      ws()
      guard i < end, p[i] == c else { throw Fail() }
      i += 1
    }

    /// Scans the envelope; `kind` is set only for app payment kinds (first `kind` key wins).
    mutating func envelope(decodeRecord: Bool) throws(Fail) -> (kind: Kind?, row: AppTransactionRow?) {
      try expect(0x7B)
      var kind: Kind? = nil
      var sawKind = false
      var recordRange: (Int, Int)? = nil
      var decoded: AppTransactionRow? = nil
      ws()
      if i < end && p[i] == 0x7D { throw Fail() }
      while true {
        ws()
        let (ks, ke, kesc) = try stringRange()
        try expect(0x3A)
        ws()
        let vs = i
        if !kesc && eq(ks, ke, "kind") && !sawKind {
          sawKind = true
          let (ss, se, sesc) = try stringRange()
          if !sesc {
            if eq(ss, se, "app.transaction") { kind = .transaction } else if eq(ss, se, "app.refund") { kind = .refund }
          } else {
            throw Fail()  // escaped kind text: leave it to the generic path
          }
        } else if !kesc && eq(ks, ke, "record") && recordRange == nil {
          if decodeRecord && kind != nil && i < end && p[i] == 0x7B {
            // `kind` came first (as in every staged line: keys are sorted), so the record is read
            // in place rather than skipped and scanned a second time; same checks, same result.
            decoded = try recordObject()
          } else {
            try skipValue(depth: 2)
          }
          recordRange = (vs, i)
        } else {
          if kesc { throw Fail() }
          try skipValue(depth: 2)
        }
        ws()
        guard i < end else { throw Fail() }
        if p[i] == 0x2C {
          i += 1
          continue
        }
        if p[i] == 0x7D {
          i += 1
          break
        }
        throw Fail()
      }
      ws()
      guard i == end, kind != nil else { return (nil, nil) }
      if let decoded { return (kind, decoded) }
      guard decodeRecord, let (rs, re) = recordRange else { return (kind, nil) }
      var sub = Scanner(p: p + rs, end: re - rs)
      return (kind, try sub.record())
    }

    func eq(_ s: Int, _ e: Int, _ lit: StaticString) -> Bool {
      let n = lit.utf8CodeUnitCount
      guard e - s == n else { return false }
      let l = lit.utf8Start
      for k in 0..<n where p[s + k] != l[k] { return false }
      return true
    }

    /// At a `"`: returns the content range and whether it holds escapes; validates the string.
    mutating func stringRange() throws(Fail) -> (Int, Int, Bool) {
      guard i < end, p[i] == 0x22 else { throw Fail() }
      i += 1
      let s = i
      var ascii = true
      var escaped = false
      while i < end {
        // Eight bytes at a time up to the first quote, backslash or control byte (SWAR zero-byte
        // tests: the lowest flagged byte is exactly the first such byte; flags above it may be
        // false, so that byte goes to the byte-wise checks below).
        if i + 8 <= end {
          let x = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
          let ones: UInt64 = 0x0101_0101_0101_0101
          let highs: UInt64 = 0x8080_8080_8080_8080
          let q = x ^ (ones &* 0x22)
          let b = x ^ (ones &* 0x5C)
          let hit = ((q &- ones) & ~q | (b &- ones) & ~b | (x &- ones &* 0x20) & ~x) & highs
          if hit == 0 {
            if x & highs != 0 { ascii = false }
            i += 8
            continue
          }
          let plain = hit.trailingZeroBitCount >> 3
          if plain > 0 {
            if x & highs & ((1 << (UInt64(plain) << 3)) &- 1) != 0 { ascii = false }
            i += plain
          }
        }
        let c = p[i]
        if c == 0x22 { break }
        if c < 0x20 { throw Fail() }
        if c == 0x5C {
          escaped = true
          i += 2
          continue
        }
        if c >= 0x80 { ascii = false }
        i += 1
      }
      guard i < end else { throw Fail() }
      let e = i
      i += 1
      if escaped {
        // Validate escapes (surrogates included) exactly as JSONParser does.
        _ = try decodeString(s - 1, e + 1)
      } else if !ascii {
        guard String(validating: UnsafeBufferPointer(start: p + s, count: e - s), as: UTF8.self) != nil else {
          throw Fail()
        }
      }
      return (s, e, escaped)
    }

    func decodeString(_ s: Int, _ e: Int) throws(Fail) -> String {
      guard case .string(let str)? = try? JSONParser.parse(UnsafeRawBufferPointer(start: p + s, count: e - s)) else {
        throw Fail()
      }
      return str
    }

    mutating func skipValue(depth: Int) throws(Fail) {
      guard depth <= JSONParser.maxDepth, i < end else { throw Fail() }
      switch p[i] {
      case 0x22: _ = try stringRange()
      case 0x7B:
        i += 1
        ws()
        if i < end && p[i] == 0x7D {
          i += 1
          return
        }
        while true {
          ws()
          _ = try stringRange()
          try expect(0x3A)
          ws()
          try skipValue(depth: depth + 1)
          ws()
          guard i < end else { throw Fail() }
          let c = p[i]
          i += 1
          if c == 0x2C { continue }
          if c == 0x7D { return }
          throw Fail()
        }
      case 0x5B:
        i += 1
        ws()
        if i < end && p[i] == 0x5D {
          i += 1
          return
        }
        while true {
          ws()
          try skipValue(depth: depth + 1)
          ws()
          guard i < end else { throw Fail() }
          let c = p[i]
          i += 1
          if c == 0x2C { continue }
          if c == 0x5D { return }
          throw Fail()
        }
      case 0x74: try literal("true")
      case 0x66: try literal("false")
      case 0x6E: try literal("null")
      default: _ = try number()
      }
    }

    mutating func literal(_ w: StaticString) throws(Fail) {
      let n = w.utf8CodeUnitCount
      guard end - i >= n else { throw Fail() }
      for k in 0..<n where p[i + k] != w.utf8Start[k] { throw Fail() }
      i += n
    }

    /// Validates a JSON number and returns its range.
    mutating func number() throws(Fail) -> (Int, Int) {
      let s = i
      if i < end && p[i] == 0x2D { i += 1 }
      guard i < end else { throw Fail() }
      if p[i] == 0x30 {
        i += 1
      } else if p[i] >= 0x31 && p[i] <= 0x39 {
        while i < end && p[i] >= 0x30 && p[i] <= 0x39 { i += 1 }
      } else {
        throw Fail()
      }
      if i < end && p[i] == 0x2E {
        i += 1
        guard i < end, p[i] >= 0x30 && p[i] <= 0x39 else { throw Fail() }
        while i < end && p[i] >= 0x30 && p[i] <= 0x39 { i += 1 }
      }
      if i < end && (p[i] == 0x65 || p[i] == 0x45) {
        i += 1
        if i < end && (p[i] == 0x2B || p[i] == 0x2D) { i += 1 }
        guard i < end, p[i] >= 0x30 && p[i] <= 0x39 else { throw Fail() }
        while i < end && p[i] >= 0x30 && p[i] <= 0x39 { i += 1 }
      }
      return (s, i)
    }

    /// The record object → row, field by field with the generic path's rules.
    mutating func record() throws(Fail) -> AppTransactionRow {
      let row = try recordObject()
      ws()
      guard i == end else { throw Fail() }
      return row
    }

    /// Reads the object at `i` (after whitespace) into a row and stops after its `}`.
    mutating func recordObject() throws(Fail) -> AppTransactionRow {
      var row = AppTransactionRow()
      try expect(0x7B)
      ws()
      if i < end && p[i] == 0x7D {
        i += 1
        return row
      }
      while true {
        ws()
        let (ks, ke, kesc) = try stringRange()
        if kesc { throw Fail() }
        try expect(0x3A)
        ws()
        guard i < end else { throw Fail() }
        let field = AppTransactionScanner.field(p + ks, ke - ks)
        let vs = i
        let c = p[i]
        let value: AppTransactionRow.FieldValue
        if c == 0x22 {
          let (ss, se, esc) = try stringRange()
          if field == nil || (field == .userEmail && !esc) {
            // Not read, or only type-checked (a string is fine): no String to build.
            value = .null
          } else if esc {
            value = .string(try decodeString(ss - 1, se + 1))
          } else if let f = field, f.isDate,
            let t = Timestamp.parse(utf8: UnsafeBufferPointer(start: p + ss, count: se - ss))
          {
            value = .time(t)  // what `set` would parse from the String, without building it
          } else {
            value = .string(String(decoding: UnsafeBufferPointer(start: p + ss, count: se - ss), as: UTF8.self))
          }
        } else if c == 0x6E {
          try literal("null")
          value = .null
        } else if c == 0x2D || (c >= 0x30 && c <= 0x39) {
          let (ns, ne) = try number()
          value =
            field == nil
            ? .null : .number(String(decoding: UnsafeBufferPointer(start: p + ns, count: ne - ns), as: UTF8.self))
        } else if field == .metadata && c == 0x7B, let m = try metadataObject() {
          value = .other(.object(m))
        } else {
          try skipValue(depth: 3)
          if field != nil {
            guard let v = try? JSONParser.parse(UnsafeRawBufferPointer(start: p + vs, count: i - vs)) else {
              throw Fail()
            }
            value = .other(v)
          } else {
            value = .null
          }
        }
        if let field { row.set(field, value) }
        ws()
        guard i < end else { throw Fail() }
        let d = p[i]
        i += 1
        if d == 0x2C { continue }
        if d == 0x7D { break }
        throw Fail()
      }
      return row
    }
  }
}
