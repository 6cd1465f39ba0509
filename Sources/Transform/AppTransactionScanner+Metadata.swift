import Foundation
import RevenueCore
import TransformRules

extension AppTransactionScanner.Scanner {
  /// `metadata` read in place instead of through `JSONParser`: an object holding only the first
  /// `livemode` and `referrer_user_id` members, which is all `AppTransactionRow.set(.metadata, …)`
  /// reads (`JSONObject`'s subscript returns the first match), with the same values. Validates like
  /// `skipValue(depth: 3)`. Returns nil, with `i` back at the `{`, when a key holds an escape (an
  /// escaped key could spell one of the two): the caller then takes the generic path.
  mutating func metadataObject() throws(AppTransactionScanner.Fail) -> JSONObject? {
    let start = i
    i += 1
    ws()
    var fields: [JSONField] = []
    if i < end && p[i] == 0x7D {
      i += 1
      return JSONObject(fields)
    }
    var seenLivemode = false
    var seenReferrer = false
    while true {
      ws()
      let (ks, ke, kesc) = try stringRange()
      if kesc {
        i = start
        return nil
      }
      try expect(0x3A)
      ws()
      guard i < end else { throw AppTransactionScanner.Fail() }
      let vs = i
      if !seenReferrer && eq(ks, ke, "referrer_user_id") {
        seenReferrer = true
        if p[vs] == 0x22 {
          let (ss, se, esc) = try stringRange()
          let text =
            esc
            ? try decodeString(ss - 1, se + 1)
            : String(decoding: UnsafeBufferPointer(start: p + ss, count: se - ss), as: UTF8.self)
          fields.append(JSONField("referrer_user_id", .string(text)))
        } else {
          try skipValue(depth: 4)
        }
      } else {
        try skipValue(depth: 4)
        if !seenLivemode && eq(ks, ke, "livemode") {
          seenLivemode = true
          if p[vs] == 0x74 || p[vs] == 0x66 { fields.append(JSONField("livemode", .bool(p[vs] == 0x74))) }
        }
      }
      ws()
      guard i < end else { throw AppTransactionScanner.Fail() }
      let d = p[i]
      i += 1
      if d == 0x2C { continue }
      if d == 0x7D { return JSONObject(fields) }
      throw AppTransactionScanner.Fail()
    }
  }
}

extension AppTransactionScanner {
  /// `AppField.lookup` by length first (at most three columns share a length), then the bytes.
  static let fieldsByLength: [[(bytes: [UInt8], field: AppField)]] = {
    var table = [[(bytes: [UInt8], field: AppField)]](repeating: [], count: 32)
    for f in AppField.allCases where f.rawValue.utf8.count < table.count {
      table[f.rawValue.utf8.count].append((Array(f.rawValue.utf8), f))
    }
    return table
  }()

  @inline(__always)
  static func field(_ p: UnsafePointer<UInt8>, _ n: Int) -> AppField? {
    guard n < 32 else { return nil }
    return fieldsByLength.withUnsafeBufferPointer { table in
      for e in table[n] where e.bytes[0] == p[0] {
        if e.bytes.withUnsafeBufferPointer({ memcmp($0.baseAddress!, p, n) == 0 }) { return e.field }
      }
      return nil
    }
  }
}
