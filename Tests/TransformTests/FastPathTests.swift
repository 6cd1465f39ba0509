import ETLTestSupport
import Foundation
import RevenueCore
import Testing

@testable import Transform
@testable import TransformRules

/// The schema-aware `app.transaction` scanner must agree exactly with JSONParser + the generic row
/// reader: same acceptance, same values (escapes, Unicode, duplicates, nesting).
@Suite struct FastPathTests {
  /// Generic path: nil when the line is not valid JSON or not an app payment record.
  static func generic(_ line: [UInt8]) -> (Bool, AppTransactionRow)? {
    guard let v = try? JSONParser.parse(line), let env = StagedRecord(v) else { return nil }
    switch env.kind {
    case "app.transaction": return (false, AppTransactionRow(env.record))
    case "app.refund": return (true, AppTransactionRow(env.record))
    default: return nil
    }
  }

  static func fast(_ line: [UInt8]) -> (Bool, AppTransactionRow)? {
    line.withUnsafeBytes { b in AppTransactionScanner.scan(b).map { ($0.isRefund, $0.row) } }
  }

  static func check(_ line: [UInt8], _ comment: Comment? = nil) {
    if let f = fast(line) {
      let g = generic(line)
      #expect(g != nil, "fast path accepted a line the generic path refuses: \(String(decoding: line, as: UTF8.self))")
      if let g {
        #expect(f.0 == g.0)
        #expect(f.1 == g.1, "rows differ for \(String(decoding: line, as: UTF8.self))")
      }
    }
    // The pass-1 sniff may only claim lines whose top-level kind really is an app payment kind.
    let sniff = line.withUnsafeBytes { AppTransactionScanner.isAppPaymentLine($0) }
    if sniff, let v = try? JSONParser.parse(line), let env = StagedRecord(v) {
      #expect(env.kind == "app.transaction" || env.kind == "app.refund")
    }
  }

  static func fixtureLines() throws -> [[UInt8]] {
    let text = try String(contentsOfFile: RepositoryPaths.fixture("extract/basic/postgres.ndjson"), encoding: .utf8)
    return text.split(separator: "\n").map { Array($0.utf8) }.filter {
      String(decoding: $0, as: UTF8.self).contains("\"app.transaction\"")
        || String(decoding: $0, as: UTF8.self).contains("\"app.refund\"")
    }
  }

  @Test func fixtureRowsTakeTheFastPathWithIdenticalValues() throws {
    let lines = try Self.fixtureLines()
    #expect(lines.count == 16)
    for l in lines {
      let f = try #require(Self.fast(l), "fast path refused a fixture row")
      let g = try #require(Self.generic(l))
      #expect(f.0 == g.0 && f.1 == g.1)
    }
  }

  @Test func escapesUnicodeAndOddShapes() throws {
    let base =
      #"{"gateway":"app","kind":"app.transaction","origin":{"query":"q","row":1},"record":{"id":"X","user_id":"U","gateway":"stripe","gateway_transaction_id":"GT","product_type":"one_time","plan_name":PLAN,"amount_cents":100,"currency":"USD","status":"completed","transaction_date":"2026-01-01T00:00:00Z","metadata":META},"source":"postgres"}"#
    let plans = [
      #""Caf\u00e9 \"Pro\" \\ tab\t""#, #""emoji \ud83d\ude00 ok""#, #""lone \ud83d surrogate""#, #""bad \x escape""#,
      #""ünïcödé — 日本""#, "\"raw\u{01}control\"", #""slash \/ ok""#, "null", "12", "true", "[1,2]", #"{"a":"b"}"#,
      #""unterminated"#, #""ok""#,
    ]
    let metas = [
      #"{"livemode":false}"#, #"{"livemode":"false"}"#, #"{"referrer_user_id":"R\u0041"}"#, "{}", "null", "[]",
      #"{"livemode":true,"livemode":false}"#, #"{"nested":{"deep":[1,{"x":null}]}}"#, #"{"a":1e5,"b":-0.5}"#,
      #"{"a":01}"#, #"{"a":1.}"#, "{,}",
    ]
    var accepted = 0
    for p in plans {
      for m in metas {
        let line = Array(base.replacingOccurrences(of: "PLAN", with: p).replacingOccurrences(of: "META", with: m).utf8)
        Self.check(line)
        if Self.fast(line) != nil { accepted += 1 }
      }
    }
    #expect(accepted > 40)
    // Invalid UTF-8 inside a string is refused by both paths.
    var bad = Array(
      base.replacingOccurrences(of: "PLAN", with: "\"x\"").replacingOccurrences(of: "META", with: "{}").utf8)
    bad.insert(0xFF, at: bad.firstIndex(of: UInt8(ascii: "x"))!)
    #expect(Self.fast(bad) == nil && Self.generic(bad) == nil)
    // Duplicate keys: envelope keeps the first kind; the record keeps the last value (as the generic path).
    let dup = Array(
      base.replacingOccurrences(of: "PLAN", with: #""a","plan_name":"b""#).replacingOccurrences(of: "META", with: "{}")
        .utf8)
    #expect(Self.fast(dup)?.1.planName == "b")
    Self.check(dup)
    let kind2 = Array(
      base.replacingOccurrences(of: #""kind":"app.transaction""#, with: #""kind":"app.user","kind":"app.transaction""#)
        .replacingOccurrences(of: "PLAN", with: "null").replacingOccurrences(of: "META", with: "{}").utf8)
    #expect(Self.fast(kind2) == nil && Self.generic(kind2) == nil)
  }

  /// The string scan skips eight bytes at a time: a quote, backslash, control byte or non-ASCII byte
  /// at any offset of a long string (in either half of an 8-byte word, or straddling one) must still
  /// be seen exactly as the byte-wise checks see it.
  @Test func specialBytesAtEveryOffsetOfALongString() throws {
    let head = Array(
      #"{"gateway":"app","kind":"app.transaction","origin":{"query":"q","row":1},"record":{"id":"X","user_id":"U","gateway":"stripe","gateway_transaction_id":"GT","product_type":"one_time","plan_name":""#
        .utf8)
    let tail = Array(
      #"","amount_cents":100,"currency":"USD","status":"completed","transaction_date":"2026-01-01T00:00:00Z"},"source":"postgres"}"#
        .utf8)
    let valid: [(String, [UInt8])] = [
      ("escaped quote", Array(#"\""#.utf8)), ("escaped backslash", Array(#"\\"#.utf8)),
      ("newline escape", Array(#"\n"#.utf8)),
      ("2-byte UTF-8", [0xC3, 0xA9]), ("3-byte UTF-8", [0xE6, 0x97, 0xA5]), ("DEL", [0x7F]), ("space", [0x20]),
    ]
    let invalid: [(String, [UInt8])] = [
      ("NUL", [0x00]), ("unit separator", [0x1F]), ("raw tab", [0x09]), ("invalid UTF-8", [0xFF]),
      ("lone lead byte", [0xC3]),
      ("bad escape", Array(#"\x"#.utf8)),
    ]
    for length in [7, 8, 9, 16, 23, 31] {
      for at in 0...length {
        for (name, bytes) in valid {
          var text = Array(repeating: UInt8(ascii: "a"), count: length)
          text.insert(contentsOf: bytes, at: at)
          let line = head + text + tail
          let fast = try #require(Self.fast(line), "fast path refused \(name) at \(at) of \(length)")
          let generic = try #require(Self.generic(line))
          #expect(fast.1 == generic.1, "\(name) at \(at) of \(length)")
        }
        for (name, bytes) in invalid {
          var text = Array(repeating: UInt8(ascii: "a"), count: length)
          text.insert(contentsOf: bytes, at: at)
          let line = head + text + tail
          #expect(Self.fast(line) == nil && Self.generic(line) == nil, "\(name) at \(at) of \(length) was accepted")
        }
        // A quote ends the string early: the rest is not JSON, both refuse.
        var cut = Array(repeating: UInt8(ascii: "a"), count: length)
        cut.insert(UInt8(ascii: "\""), at: at)
        cut.insert(UInt8(ascii: "b"), at: at)
        #expect(Self.fast(head + cut + tail) == nil && Self.generic(head + cut + tail) == nil)
      }
    }
  }

  /// Date columns are parsed once (by the scanner straight from the bytes, or from the generic
  /// path's string): same instants, and a value that is not a timestamp is quoted in the reject.
  @Test func dateColumnsParseOnceAndBadDatesAreQuoted() throws {
    func line(_ date: String, start: String = "\"2026-01-01 10:00:00.5+00\"", refundedAt: String = "null") -> [UInt8] {
      Array(
        (#"{"gateway":"app","kind":"app.transaction","origin":{"query":"q","row":1},"record":{"id":"X","user_id":"U","gateway":"stripe","gateway_transaction_id":"GT","product_type":"subscription","plan_name":"p","gateway_subscription_id":"sub_1","amount_cents":100,"currency":"USD","status":"refunded","transaction_date":"#
          + date + #","period_start":"# + start + #","period_end":"2026-02-01T10:00:00Z","refunded_at":"# + refundedAt
          + #"},"source":"postgres"}"#).utf8)
    }
    func outcome(_ l: [UInt8]) throws -> (fast: String, generic: String) {
      let f = try #require(Self.fast(l))
      let g = try #require(Self.generic(l))
      #expect(f.1 == g.1)
      return ("\(AppMapping.payment(f.1, refundRow: false))", "\(AppMapping.payment(g.1, refundRow: false))")
    }
    let good = try #require(Self.fast(line(#""2026-01-01T10:00:00.5+02:00""#)))
    #expect(good.1.transactionDate == .time(Timestamp.parse("2026-01-01T08:00:00Z")!))
    #expect(good.1.periodStart == .time(Timestamp.parse("2026-01-01T10:00:00Z")!))
    let escaped = try #require(Self.fast(line(#""2026-01-01T10:00:00Z""#)))  // "Z" written as an escape
    #expect(escaped.1.transactionDate == .time(Timestamp.parse("2026-01-01T10:00:00Z")!))
    let badStart = try outcome(line(#""2026-01-01T10:00:00Z""#, start: #""soon""#))
    #expect(badStart.fast == badStart.generic)
    let reason: String? = {
      if case .reject(_, let r) = AppMapping.payment(
        Self.fast(line(#""2026-01-01T10:00:00Z""#, start: #""soon""#))!.1, refundRow: false)
      {
        return r
      }
      return nil
    }()
    #expect(reason == "period_start 'soon' is not a timestamp")
    let badDate = try outcome(line(#""yesterday""#))
    #expect(badDate.fast == badDate.generic && badDate.fast.contains("bad_date"))
    let numericDate = try outcome(line("20260101"))
    #expect(numericDate.fast == numericDate.generic && numericDate.fast.contains("bad_date"))
    // An unreadable refunded_at falls back to the payment's date, on both paths.
    let badRefund = try outcome(line(#""2026-01-01T10:00:00Z""#, refundedAt: #""later""#))
    #expect(badRefund.fast == badRefund.generic && badRefund.fast.contains("payment("))
  }

  @Test func fuzzedRowsNeverDisagree() throws {
    let seeds = try Self.fixtureLines()
    var rng = SeededRandom(seed: 7)
    let inserts: [[UInt8]] = [
      Array("\"".utf8), Array("\\".utf8), Array("{".utf8), Array("}".utf8), Array(",".utf8), Array(":".utf8),
      Array("[".utf8), [0x00], [0x1F], [0xC3], [0xFF], [0xC3, 0xA9], Array("\\u00e9".utf8), Array("\\ud83d".utf8),
      Array("\\ude00".utf8), Array("\\n".utf8), Array("-".utf8), Array("0".utf8), Array("e".utf8), Array(" ".utf8),
      Array("null".utf8), Array("\\\"".utf8),
    ]
    var fastCount = 0
    for _ in 0..<20_000 {
      var l = seeds[Int(rng.next() % UInt64(seeds.count))]
      for _ in 0..<(1 + Int(rng.next() % 3)) {
        let pos = Int(rng.next() % UInt64(l.count))
        switch rng.next() % 3 {
        case 0: l.remove(at: pos)
        case 1: l.insert(contentsOf: inserts[Int(rng.next() % UInt64(inserts.count))], at: pos)
        default: l[pos] = inserts[Int(rng.next() % UInt64(inserts.count))][0]
        }
      }
      Self.check(l)
      if Self.fast(l) != nil { fastCount += 1 }
    }
    #expect(fastCount > 1000)  // the comparison is meaningful: many mutants still take the fast path
  }
}
